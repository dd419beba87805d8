//! `cargo run --bin local-api`: the whole service on http://127.0.0.1:3000 with no AWS account.

use std::process::ExitCode;
use std::sync::Arc;

use local_api::options::USAGE;
use local_api::{LocalApi, MailerKind, Options, StoreKind, ready_line, serve};
use shared::config::{Config, Profile};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("local-api: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(template) = &options.render_mail {
        return render_mail(options.port, template, &options.locale);
    }
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-api: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--render-mail`: one mail from the configured templates, with sample values, on stdout.
fn render_mail(port: u16, template: &str, locale: &str) -> ExitCode {
    let config = match Config::from_lookup(Profile::Local { port }, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("local-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    match local_api::preview::sample(&config, template, locale) {
        Ok(mail) => {
            print!("{}", local_api::preview::as_text(&mail));
            ExitCode::SUCCESS
        }
        Err((field, message)) => {
            eprintln!("local-api: --render-mail: {field} {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(options: Options) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    options.check_aws_target(|k| std::env::var(k).ok())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    let port = listener.local_addr()?.port();
    let config = Config::from_lookup(Profile::Local { port }, |k| std::env::var(k).ok())?;
    let dialects = config.dialects.clone();
    let api = Arc::new(LocalApi::build(&options, config).await?);

    println!("{}", ready_line(port));
    println!("password-reset local API on http://127.0.0.1:{port}");
    println!("  POST /password-reset/request | check | consume");
    if options.mailer == MailerKind::Console {
        println!("  mailbox: http://127.0.0.1:{port}/_dev/mailbox (mails are also printed here)");
    }
    if options.store == StoreKind::Memory {
        for user in &options.users {
            println!("  user: {} / password: {}", user.email, user.password);
        }
    }
    if dialects.stack.is_some() {
        println!(
            "  Stack Auth: POST /api/v1/auth/password/send-reset-code | reset/check-code | reset"
        );
    }
    if dialects.productflame.is_some() {
        println!("  ProductFlame: POST /v1/auth/reset-password (Authorization: <server key>)");
    }
    if dialects.supabase {
        println!("  Supabase-style: POST /auth/send-password-reset");
    }
    if dialects.zitadel.is_some() {
        println!("  Zitadel v2: POST /v2/users/{{userId}}/password_reset | password");
    }
    // After the ready line, which scripts read first.
    dialects.log_off();
    serve(listener, api, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
