use std::process::ExitCode;

use clap::FromArgMatches;
use jobdeploy::cli::Cli;
use jobdeploy::{commands, github, report};

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&jobdeploy::cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprint!("{}", report::errors::error(&err, github::in_actions()));
            ExitCode::from(err.exit_code())
        }
    }
}
