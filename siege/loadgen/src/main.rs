//! `loadgen`: the measuring half of `./dev bench` (siege/bench.sh drives it).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match loadgen::run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}
