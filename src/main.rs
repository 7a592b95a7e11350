//! The `kreisgeo` binary: parses the command line, sets up logging and the runtime, and runs
//! the command (`cli`).

mod cli;

use std::process::ExitCode;

use kreisgeo::logging;

fn main() -> ExitCode {
    let cli = cli::parse();
    logging::init(cli.log_format);
    // An actix System over tokio's multi-threaded runtime: the HTTP workers then run on their
    // own arbiters, and a graceful shutdown waits for the connections still being answered
    // (on a bare tokio runtime actix-server counts them as idle and drops streaming responses).
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let system = actix_web::rt::System::with_tokio_rt(move || runtime);
    match system.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
