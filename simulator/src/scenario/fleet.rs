//! The keys of fleets and of SUTs measured where they run: `[[sut]] replicas`,
//! `kind = "external"` with `tokens_file`, `[sut.metrics]`, and `[telegram] listen` /
//! `control_token` (checked here, called from `validate`).

use std::net::SocketAddr;

use super::locate::{Seg, key_path as path};
use super::{Axis, CONTROL_TOKEN_ENV, Kind, Ready, Scenario, Sut};

/// Most replicas of one SUT on this machine.
pub const MAX_REPLICAS: u32 = 64;

/// The fleet keys of `[[sut]]` #`i`.
pub(super) fn check_sut(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), sut: &Sut, i: usize) {
    let at = |k: &str| path!["sut", i, k];
    if let Some(n) = sut.replicas {
        if matches!(sut.kind, Kind::Serverless | Kind::External) {
            bad(
                at("replicas"),
                Some(n.to_string()),
                &format!(
                    "not for kind = \"{}\" (tgbench starts no processes of it to replicate)",
                    sut.kind.as_str()
                ),
            );
        } else if !(1..=MAX_REPLICAS).contains(&n) {
            bad(
                at("replicas"),
                Some(n.to_string()),
                &format!("expected 1 to {MAX_REPLICAS} processes"),
            );
        }
    }
    if sut.kind == Kind::External {
        let started = [
            ("args", !sut.args.is_empty()),
            ("env", !sut.env.is_empty()),
            ("cpus", sut.cpus.is_some()),
            ("cpu_quota", sut.cpu_quota.is_some()),
        ];
        for (key, set) in started {
            if set {
                bad(
                    at(key),
                    None,
                    "not for kind = \"external\": tgbench does not start it (configure it where it runs)",
                );
            }
        }
        if let Some(Ready::Url(u)) = &sut.ready
            && u.contains("{listen}")
        {
            bad(
                at("ready"),
                Some(format!("{u:?}")),
                "an external SUT has no TGBENCH_LISTEN from tgbench: give its health URL in full, e.g. \"http://10.0.0.5:8443/health\"",
            );
        }
    } else if let Some(p) = &sut.tokens_file {
        bad(
            at("tokens_file"),
            Some(format!("{:?}", p.display().to_string())),
            "only for kind = \"external\" (tgbench gives the SUTs it starts TGBENCH_TOKENS_FILE)",
        );
    }
    if let Some(m) = &sut.metrics {
        let at = |k: &str| path!["sut", i, "metrics", k];
        if sut.kind == Kind::Serverless {
            bad(
                path!["sut", i, "metrics"],
                None,
                "not for kind = \"serverless\" (the emulated platform measures its environments)",
            );
        }
        let url = m.prometheus_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bad(
                at("prometheus_url"),
                Some(format!("{url:?}")),
                "expected Prometheus' base URL, e.g. \"http://prometheus:9090\"",
            );
        }
        for (key, q) in [("cpu_query", &m.cpu_query), ("rss_query", &m.rss_query)] {
            if q.trim().is_empty() {
                bad(
                    at(key),
                    Some("\"\"".into()),
                    "expected a PromQL query, e.g. sum by (pod) (rate(container_cpu_usage_seconds_total{container=\"bot\"}[30s]))",
                );
            }
        }
        if m.replica_label
            .as_deref()
            .is_some_and(|l| l.trim().is_empty())
        {
            bad(
                at("replica_label"),
                Some("\"\"".into()),
                "expected a label name, e.g. \"pod\"",
            );
        }
    }
}

/// `[capacity] axis = "replicas"` and its `replicas` steps: increasing counts a SUT tgbench
/// starts can be run as, and no `[[sut]] replicas` of its own (the search sets it).
pub(super) fn check_capacity(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), s: &Scenario) {
    let c = &s.capacity;
    if c.axis != Axis::Replicas {
        if !c.replicas.is_empty() {
            bad(
                path!["capacity", "replicas"],
                None,
                if c.axis == Axis::Rate {
                    "only with axis = \"replicas\" (axis = \"rate\" steps the messages per bot per minute through rates)"
                } else {
                    "only with axis = \"replicas\" (the default axis steps the bots through steps)"
                },
            );
        }
        return;
    }
    if c.steps != super::default_steps() {
        bad(
            path!["capacity", "steps"],
            None,
            "steps are bot counts: with axis = \"replicas\" give replicas = [1, 2, 4] and [telegram] bots",
        );
    }
    if c.replicas.is_empty() {
        bad(
            path!["capacity", "replicas"],
            None,
            "missing: axis = \"replicas\" steps through replicas = [processes of each SUT, …], e.g. [1, 2, 4]",
        );
    } else if c.replicas[0] == 0
        || c.replicas.windows(2).any(|w| w[0] >= w[1])
        || c.replicas.iter().any(|&n| n > MAX_REPLICAS)
    {
        bad(
            path!["capacity", "replicas"],
            Some(format!("{:?}", c.replicas)),
            &format!(
                "expected replica counts 1 to {MAX_REPLICAS} in increasing order, e.g. [1, 2, 4]"
            ),
        );
    }
    for (i, sut) in s.suts.iter().enumerate() {
        if matches!(sut.kind, Kind::Serverless | Kind::External) {
            bad(
                path!["sut", i, "kind"],
                Some(format!("\"{}\"", sut.kind.as_str())),
                "[capacity] axis = \"replicas\" needs SUTs tgbench starts (polling, webhook, framework)",
            );
        } else if let Some(n) = sut.replicas {
            bad(
                path!["sut", i, "replicas"],
                Some(n.to_string()),
                "the search along the replicas sets them: leave it out, or give [capacity] replicas",
            );
        }
    }
}

/// The scenario-wide rules: faults that need the SUT's process are refused when a SUT is
/// external, and a mock listening beyond loopback needs a control token.
pub(super) fn check_scenario(bad: &mut impl FnMut(Vec<Seg>, Option<String>, &str), s: &Scenario) {
    if let Some(ext) = s.suts.iter().find(|x| x.kind == Kind::External) {
        for (j, f) in s.faults.iter().enumerate() {
            if f.kind.stops_sut() {
                bad(
                    path!["fault", j, "kind"],
                    Some(format!("\"{}\"", f.kind.as_str())),
                    &format!(
                        "needs the SUT's process, and [[sut]] {:?} is kind = \"external\" (tgbench did not start it); use a telegram_* fault, or stop it yourself",
                        ext.name
                    ),
                );
            }
        }
    }
    for h in &s.telegram.webhook_hosts {
        if h.parse::<ipnet::IpNet>().is_err() {
            bad(
                path!["telegram", "webhook_hosts"],
                Some(format!("{h:?}")),
                "expected a network in CIDR notation, e.g. \"198.18.0.0/15\" or \"fd00::/8\"",
            );
        }
    }
    if let Some(listen) = &s.telegram.listen {
        match listen.parse::<SocketAddr>() {
            Err(_) => bad(
                path!["telegram", "listen"],
                Some(format!("{listen:?}")),
                "expected an address and port, e.g. \"0.0.0.0:8081\" or \"127.0.0.1:0\"",
            ),
            Ok(a) if !a.ip().is_loopback() && s.telegram.control_token().is_none() => bad(
                path!["telegram", "listen"],
                Some(format!("{listen:?}")),
                &format!(
                    "a mock reachable beyond loopback needs a control token: set [telegram] control_token = \"...\" or {CONTROL_TOKEN_ENV}"
                ),
            ),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const EXTERNAL: &str = "name = \"t\"\nduration_s = 5\n[telegram]\nbots = 3\n\
        listen = \"127.0.0.1:18081\"\n\
        [[sut]]\nname = \"far\"\nkind = \"external\"\ntokens_file = \"/tmp/t.txt\"\n";

    fn err(text: &str) -> String {
        parse(text, "x.toml").unwrap_err().to_string()
    }

    #[test]
    fn an_external_sut_parses_with_its_keys() {
        let text = format!(
            "{EXTERNAL}ready = \"http://10.0.0.5:8443/health\"\n[sut.metrics]\n\
             prometheus_url = \"http://prom:9090\"\ncpu_query = \"sum by (pod) (rate(x[30s]))\"\n\
             rss_query = \"sum by (pod) (y)\"\nreplica_label = \"pod\"\n"
        );
        let s = parse(&text, "x.toml").unwrap();
        let sut = &s.suts[0];
        assert_eq!(sut.kind.as_str(), "external");
        assert_eq!(
            sut.metrics.as_ref().unwrap().replica_label.as_deref(),
            Some("pod")
        );
        assert_eq!(s.telegram.listen.as_deref(), Some("127.0.0.1:18081"));
    }

    #[test]
    fn faults_that_need_the_process_are_refused_for_an_external_sut() {
        for kind in ["sut_kill", "sut_stop"] {
            let text =
                format!("{EXTERNAL}[[fault]]\nat_s = 1\nkind = \"{kind}\"\nduration_s = 1\n");
            let e = err(&text);
            assert!(
                e.starts_with(&format!(
                    "x.toml:12: [[fault]] #1 kind = \"{kind}\": needs the SUT's process"
                )),
                "{e}"
            );
            assert!(e.contains("kind = \"external\""), "{e}");
        }
        let ok =
            format!("{EXTERNAL}[[fault]]\nat_s = 1\nkind = \"telegram_outage\"\nduration_s = 1\n");
        parse(&ok, "x.toml").unwrap();
    }

    #[test]
    fn a_mock_beyond_loopback_needs_a_control_token() {
        if std::env::var_os(super::CONTROL_TOKEN_ENV).is_some() {
            return; // the variable would answer for the file
        }
        let open = EXTERNAL.replace("127.0.0.1:18081", "0.0.0.0:8081");
        let e = err(&open);
        assert!(
            e.starts_with("x.toml:5: [telegram] listen = \"0.0.0.0:8081\": a mock reachable beyond loopback needs a control token"),
            "{e}"
        );
        let with_token = open.replace(
            "bots = 3\n",
            "bots = 3\ncontrol_token = \"s3cret-s3cret\"\n",
        );
        parse(&with_token, "x.toml").unwrap();
        let e = err(&EXTERNAL.replace("127.0.0.1:18081", "nowhere"));
        assert!(
            e.contains("[telegram] listen = \"nowhere\": expected an address and port"),
            "{e}"
        );
    }

    #[test]
    fn keys_of_started_suts_are_refused_for_an_external_one_and_back() {
        let e = err(&format!("{EXTERNAL}cpus = \"1\"\n"));
        assert!(
            e.contains("[[sut]] #1 cpus") && e.contains("tgbench does not start it"),
            "{e}"
        );
        let e = err(&format!("{EXTERNAL}replicas = 2\n"));
        assert!(
            e.contains("[[sut]] #1 replicas = 2: not for kind = \"external\""),
            "{e}"
        );
        let e = err(&format!("{EXTERNAL}ready = \"http://{{listen}}/health\"\n"));
        assert!(e.contains("no TGBENCH_LISTEN"), "{e}");
        let polling = EXTERNAL.replace("kind = \"external\"", "kind = \"polling\"");
        let e = err(&polling);
        assert!(
            e.contains("tokens_file") && e.contains("only for kind = \"external\""),
            "{e}"
        );
        let e = err(&polling.replace("tokens_file = \"/tmp/t.txt\"\n", "replicas = 0\n"));
        assert!(e.contains("replicas = 0: expected 1 to 64"), "{e}");
        let e = err(&format!(
            "{EXTERNAL}[sut.metrics]\nprometheus_url = \"prom:9090\"\ncpu_query = \"\"\nrss_query = \"y\"\n"
        ));
        assert!(
            e.contains("prometheus_url = \"prom:9090\": expected Prometheus' base URL"),
            "{e}"
        );
    }

    #[test]
    fn a_capacity_along_the_replicas_needs_increasing_replicas_of_started_suts() {
        let polling = "name = \"t\"\nduration_s = 5\n[telegram]\nbots = 3\n\
            [[sut]]\nname = \"p\"\nkind = \"polling\"\n";
        let s = parse(
            &format!("{polling}[capacity]\naxis = \"replicas\"\nreplicas = [1, 2, 4]\n"),
            "x.toml",
        )
        .unwrap();
        assert_eq!(s.capacity.replicas, [1, 2, 4]);
        let e = err(&format!("{polling}[capacity]\naxis = \"replicas\"\n"));
        assert!(e.contains("[capacity] replicas: missing"), "{e}");
        let e = err(&format!(
            "{polling}[capacity]\naxis = \"replicas\"\nreplicas = [2, 1]\n"
        ));
        assert!(
            e.contains("x.toml:10: [capacity] replicas = [2, 1]: expected replica counts 1 to 64"),
            "{e}"
        );
        let e = err(&format!("{polling}[capacity]\nreplicas = [1, 2]\n"));
        assert!(
            e.contains("[capacity] replicas: only with axis = \"replicas\""),
            "{e}"
        );
        // Each axis's stray key is explained in the words of the axis chosen.
        let e = err(&format!(
            "{polling}[capacity]\naxis = \"replicas\"\nreplicas = [1, 2]\nrates = [1, 2]\n"
        ));
        assert!(
            e.contains("[capacity] rates: only with axis = \"rate\" (axis = \"replicas\" steps the replicas"),
            "{e}"
        );
        let e = err(&format!(
            "{polling}[capacity]\naxis = \"rate\"\nrates = [1, 2]\nreplicas = [1, 2]\n"
        ));
        assert!(
            e.contains("[capacity] replicas: only with axis = \"replicas\" (axis = \"rate\" steps the messages"),
            "{e}"
        );
        let e = err(&format!(
            "{polling}replicas = 2\n[capacity]\naxis = \"replicas\"\nreplicas = [1, 2]\n"
        ));
        assert!(
            e.contains("[[sut]] #1 replicas = 2: the search along the replicas sets them"),
            "{e}"
        );
        let e = err(&format!(
            "{polling}[capacity]\naxis = \"replicas\"\nreplicas = [1]\nsteps = [1, 2]\n"
        ));
        assert!(e.contains("[capacity] steps: steps are bot counts"), "{e}");
        let e = err(&format!(
            "{EXTERNAL}[capacity]\naxis = \"replicas\"\nreplicas = [1, 2]\n"
        ));
        assert!(e.contains("[[sut]] #1 kind = \"external\": [capacity] axis = \"replicas\" needs SUTs tgbench starts"), "{e}");
    }

    #[test]
    fn webhook_hosts_are_networks_and_reach_the_mock() {
        let text = format!(
            "{}webhook_hosts = [\"198.18.0.0/15\", \"fd00::/8\"]\n{}",
            "name = \"t\"\nduration_s = 5\n[telegram]\nbots = 3\n",
            "[[sut]]\nname = \"w\"\nkind = \"webhook\"\n"
        );
        let s = parse(&text, "x.toml").unwrap();
        let hosts = crate::run::mock_config(&s.telegram, 1).webhook_hosts;
        assert_eq!(hosts.len(), 2);
        assert!(hosts[0].contains(&"198.19.0.7".parse::<std::net::IpAddr>().unwrap()));
        let e = err(&text.replace("198.18.0.0/15", "198.18.0.0"));
        assert!(
            e.contains(
                "x.toml:5: [telegram] webhook_hosts = \"198.18.0.0\": expected a network in CIDR notation"
            ),
            "{e}"
        );
    }
}
