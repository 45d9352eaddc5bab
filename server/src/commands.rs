//! `huddle migrate` and `huddle admin create`: run, print, exit.

use crate::accounts::Accounts;
use crate::config::{AdminCommand, Command, Config};
use crate::metrics::Metrics;
use std::sync::Arc;

/// Refuse what cannot work: several instances (Redis) need a shared database.
pub fn check(cfg: &Config) -> anyhow::Result<()> {
    let db = crate::store::database_url(cfg);
    if cfg.redis_url.is_some() && db.is_none() {
        anyhow::bail!(
            "--redis-url needs --database-url postgres://…: several instances cannot share \
             the SQLite file in --data-dir, so each would keep its own accounts"
        );
    }
    if cfg.redis_url.is_some() && db.is_some_and(|u| u.starts_with("sqlite:")) {
        tracing::warn!(
            "--redis-url with a sqlite: --database-url: every instance must run on this host"
        );
    }
    Ok(())
}

/// Run a command to its end.
pub async fn run(cmd: Command, cfg: &Config) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let store = crate::store::open(cfg, metrics.clone()).await?;
    match cmd {
        Command::Migrate => {
            println!("huddle: the {} database is up to date", store.backend());
        }
        Command::Admin {
            action: AdminCommand::Create { email, name },
        } => {
            let accounts = Accounts::new(cfg, store, metrics);
            let (account, link) = accounts.create_admin(&email, name.as_deref()).await?;
            let link = if link.link.starts_with('/') {
                // No --public-origin: the address this server listens on.
                format!("http://{}{}", cfg.bind, link.link)
            } else {
                link.link
            };
            println!(
                "Admin account created for {}. Open this link within {} hours to set a password (it works once):\n{link}",
                account.email, cfg.link_hours
            );
        }
    }
    Ok(())
}
