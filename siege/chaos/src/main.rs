//! `chaos`: the driver and the checker of `./dev chaos` (siege/chaos.sh runs the scenarios).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match chaos::run(std::env::args().skip(1).collect()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("chaos: {error:#}");
            ExitCode::from(2)
        }
    }
}
