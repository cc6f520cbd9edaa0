//! `twsla completion <shell>` and the examples at the end of each command's `--help`.

use crate::util::Cmd;

const SUBCOMMANDS: [&str; 12] = [
    "import", "search", "count", "extract", "tfidf", "anomaly", "delay", "heatmap", "time",
    "relation", "verify", "version",
];

#[test]
fn bash_completion_lists_every_subcommand_and_flags() {
    let out = Cmd::bare().args(&["completion", "bash"]).run();
    out.code(0);
    let script = out.text();
    assert!(script.contains("complete -F _twsla"), "{script}");
    for sub in SUBCOMMANDS.iter().chain(&["completion"]) {
        assert!(script.contains(&format!("twsla,{sub})")), "{sub} missing");
    }
    // Flags of a subcommand and the global ones.
    assert!(script.contains("--timeRange") && script.contains("--ndjson"), "flags missing");
}

#[test]
fn other_shells_generate_and_bad_shell_is_refused() {
    for (shell, mark) in [
        ("zsh", "#compdef twsla"),
        ("fish", "complete -c twsla"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Cmd::bare().args(&["completion", shell]).run();
        out.code(0);
        assert!(out.text().contains(mark), "{shell}: {}", out.text());
    }
    let out = Cmd::bare().args(&["completion", "tcsh"]).run();
    out.code(2);
    let err = &out.stderr;
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn each_command_help_ends_with_examples() {
    for sub in SUBCOMMANDS.iter().filter(|s| **s != "version").chain(&["completion"]) {
        let out = Cmd::bare().args(&[*sub, "--help"]).run();
        out.code(0);
        let help = out.text();
        let at = help.find("Examples:\n  twsla ").or_else(|| help.find("Examples:\n  zcat"));
        let at = at.unwrap_or_else(|| panic!("{sub}: no examples: {help}"));
        assert!(help[at..].contains(&format!(" {sub}")), "{sub}: examples of another command");
    }
}
