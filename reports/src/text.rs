//! How numbers and text are written in every report: one rounding rule, one thousands
//! separator, one HTML escape. Markdown, HTML, SVG, claims and compare all go through here,
//! so a figure reads the same wherever it appears.

/// What a report prints for a CPU or memory figure that was not measured (an external SUT
/// without `[sut.metrics]`): never a 0.
pub const NOT_MEASURED: &str = "not measured";

/// A CPU or memory figure for a table cell ([`num`]), or [`NOT_MEASURED`].
pub fn measured(v: Option<f64>) -> String {
    v.map_or_else(|| NOT_MEASURED.to_owned(), num)
}

/// A number for a table cell: 2 decimals below 10, 1 decimal below 100, none above, with a
/// comma every three digits (`0.42`, `3.25`, `47.5`, `812`, `12,000`). Not-a-number and
/// infinities print as `n/a`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned() // "-0.00" reads as "0.00"
    } else {
        s
    };
    group_thousands(&s)
}

/// A figure someone chose (a rate in a scenario): whole numbers without decimals (`60`,
/// `1,000`), others as [`num`] (`0.50`, `2.5`).
pub fn chosen(v: f64) -> String {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
        count(v as u64)
    } else {
        num(v)
    }
}

/// A count with thousands separators: `12,000`.
pub fn count(v: u64) -> String {
    group_thousands(&v.to_string())
}

/// A signed relative change in percent: `+12.5 %`, `-3.20 %`, `n/a`.
pub fn pct_change(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "n/a".to_owned();
    }
    let p = fraction * 100.0;
    if p >= 0.0 {
        format!("+{} %", num(p))
    } else {
        format!("{} %", num(p))
    }
}

/// Dollars: `$9.01`, `$1,234`.
pub fn usd(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1000.0 {
        format!("${}", count(v.round() as u64))
    } else if v.is_finite() {
        format!("${v:.2}")
    } else {
        "n/a".to_owned()
    }
}

/// A compact axis label: `0.5`, `20`, `1.5k`, `12k`, `2M`.
pub fn axis(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let mut s = if scaled.abs() >= 100.0 || (scaled.fract() == 0.0) {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.3}")
    };
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{s}{suffix}")
}

fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell: pipes and newlines would break the row.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_by_magnitude_and_group_thousands() {
        assert_eq!(num(0.4219), "0.42");
        assert_eq!(num(3.25), "3.25");
        assert_eq!(num(47.5), "47.5");
        assert_eq!(num(812.0), "812");
        assert_eq!(num(12_000.0), "12,000");
        assert_eq!(num(1_234_567.8), "1,234,568");
        assert_eq!(num(-1500.0), "-1,500");
        assert_eq!(num(-0.001), "0.00");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(count(12_000), "12,000");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn changes_money_and_axis_labels() {
        assert_eq!(pct_change(0.125), "+12.5 %");
        assert_eq!(pct_change(-0.032), "-3.20 %");
        assert_eq!(pct_change(f64::INFINITY), "n/a");
        assert_eq!(usd(9.014), "$9.01");
        assert_eq!(usd(1234.4), "$1,234");
        assert_eq!(axis(0.5), "0.5");
        assert_eq!(axis(20.0), "20");
        assert_eq!(axis(1500.0), "1.5k");
        assert_eq!(axis(12_000.0), "12k");
        assert_eq!(axis(2e6), "2M");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
