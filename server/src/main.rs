use clap::Parser;
use huddle_server::config::Config;

#[tokio::main]
async fn main() {
    let cfg = Config::parse();
    if let Err(e) = huddle_server::run(cfg).await {
        eprintln!("huddle: {e:#}");
        std::process::exit(1);
    }
}
