//! `tgbench tokens`: the tokens it prints are the ones the run's mock accepts, so a SUT that
//! tgbench does not start can be given them before the run.

use crate::sim_support::{binaries, scenario_file};

const SCENARIO: &str = r#"
name = "tokens"
seed = 77
duration_s = 1

[telegram]
bots = 5

[load]
model = "constant"
messages_per_bot_per_min = 1

[[sut]]
name = "p"
kind = "polling"
"#;

#[tokio::test]
async fn printed_tokens_answer_get_me_on_the_runs_mock_and_others_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(dir.path(), "tokens", SCENARIO);
    let out_file = dir.path().join("tokens.txt");
    let status = std::process::Command::new(binaries().join("tgbench"))
        .args(["tokens", path.to_str().unwrap(), "--bots", "3", "--out"])
        .arg(&out_file)
        .status()
        .expect("running tgbench tokens");
    assert!(status.success());
    let tokens: Vec<String> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(tokens.len(), 3);

    // The mock a run of this scenario builds, served over HTTP.
    let scn = tgbench::scenario::load(path.to_str().unwrap()).unwrap();
    let mock = mock_telegram::Mock::new(tgbench::run::mock_config(&scn.telegram, scn.seed));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = mock_telegram::server::MockServer::start(mock, listener);
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::new();
    let get_me = |token: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}/bot{token}/getMe"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for token in &tokens {
        assert_eq!(get_me(token.clone()).await, 200, "token {token}");
    }
    // Another seed's tokens are not the run's.
    let foreign = mock_telegram::token::bot_info(scn.seed + 1, 0).token;
    assert_eq!(get_me(foreign).await, 401);
}
