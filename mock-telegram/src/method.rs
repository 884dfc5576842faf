//! [`Method`]: the Bot API methods the mock implements, by name. The vocabulary shared by
//! the router, the method implementations, webhook responses and the per-method counters.

macro_rules! methods {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A Bot API method the mock implements.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Method { $($variant),* }

        impl Method {
            /// Every method, in declaration order.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];
            /// How many there are.
            pub const COUNT: usize = [$($name),*].len();

            /// The canonical (camelCase) name, as Telegram documents it.
            pub fn name(self) -> &'static str {
                match self { $(Method::$variant => $name),* }
            }
        }
    };
}

methods! {
    GetMe => "getMe",
    GetUpdates => "getUpdates",
    SetWebhook => "setWebhook",
    DeleteWebhook => "deleteWebhook",
    GetWebhookInfo => "getWebhookInfo",
    SendMessage => "sendMessage",
    AnswerCallbackQuery => "answerCallbackQuery",
    EditMessageText => "editMessageText",
    SendChatAction => "sendChatAction",
    SetMyCommands => "setMyCommands",
    GetMyCommands => "getMyCommands",
    DeleteMyCommands => "deleteMyCommands",
    Close => "close",
    LogOut => "logOut",
}

impl Method {
    /// The method named `name`, in any letter case (teloxide sends `GetUpdates`).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_match_in_any_case() {
        assert_eq!(Method::parse("GetUpdates"), Some(Method::GetUpdates));
        assert_eq!(Method::parse("sendmessage"), Some(Method::SendMessage));
        assert_eq!(Method::parse("LOGOUT"), Some(Method::LogOut));
        assert_eq!(Method::parse("sendPhoto"), None);
        assert_eq!(Method::COUNT, Method::ALL.len());
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }
}
