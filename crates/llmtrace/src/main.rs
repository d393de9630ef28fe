//! The `llmtrace` binary: parses the command line and wires the crates together. No logic of
//! its own lives here beyond configuration, presentation of CLI output, and process signals.

mod allocator;
mod backup;
mod cli;
mod client;
mod config;
mod demo;
mod evaluate;
mod evaluate_cmd;
mod evaluate_range;
mod export;
mod forward;
mod judge;
mod pricing;
mod projects;
mod scores_cmd;
mod serve;

use clap::Parser;

/// `llmtrace rules`: prints the rule file, or its promtool tests, for the configured thresholds.
fn rules(args: cli::RulesArgs) -> anyhow::Result<()> {
    let alerts = config::read_file_config(args.config.as_deref())?.alerts();
    let text = if args.tests {
        llmtrace_alerts::rules::rule_tests(&alerts, &args.rule_file)
    } else {
        llmtrace_alerts::rules::rule_file(&alerts)
    };
    print!("{text}");
    Ok(())
}

fn main() -> std::process::ExitCode {
    allocator::return_freed_memory_soon();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

/// Runs the command line's command.
async fn run() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    client::set_secret_key(cli.secret_key.clone());
    let result = match cli.command {
        cli::Command::Serve(args) => serve::run(*args).await,
        cli::Command::Traces(args) => client::traces(&cli.server, args).await,
        cli::Command::Trace(args) => client::trace(&cli.server, args).await,
        cli::Command::Stats(args) => client::stats(&cli.server, args).await,
        cli::Command::Demo(args) => demo::run(&cli.server, args).await,
        cli::Command::Pricing(cmd) => pricing::run(&cli.server, cmd).await,
        cli::Command::Projects(cmd) => projects::run(cmd),
        cli::Command::Evaluate(args) => evaluate_cmd::run(&cli.server, args).await,
        cli::Command::Scores(cmd) => scores_cmd::run(&cli.server, cmd).await,
        cli::Command::Rules(args) => rules(args),
        cli::Command::Backup(args) => backup::run(args),
        cli::Command::Export(args) => export::export(args).await,
        cli::Command::Import(args) => export::import(&cli.server, args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
