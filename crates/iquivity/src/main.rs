use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use iquivity::{App, Config, PlatformAccess};
use iquivity_core::auth::SignUp;
use iquivity_domain::{Plan, WorkspaceId};
use secrecy::ExposeSecret;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

/// iQuivity Social: connect and manage your social media accounts from one dashboard.
#[derive(Parser)]
#[command(name = "iquivity", version)]
struct Cli {
    /// Configuration file (default: ./iquivity.toml when it exists).
    #[arg(long, global = true, env = "IQUIVITY_CONFIG")]
    config: Option<PathBuf>,
    /// Where the database and the key file live [env: IQUIVITY_DATA_DIR] [default: ./data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Address to listen on [env: IQUIVITY_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve {
        /// First add a demo workspace with the 15 example accounts (through the sandbox) and print how
        /// to sign in to it: the first run's dashboard in one command.
        #[arg(long)]
        demo: bool,
    },
    #[command(flatten)]
    Admin(AdminCommand),
}

/// Everything but `serve`: each opens the data directory, does its work and exits.
#[derive(Subcommand)]
enum AdminCommand {
    /// Run only the local platform sandbox (every platform without credentials) and print its addresses.
    Sandbox,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage workspaces.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    // The example accounts follow docs/product.md#account-list.
    /// Create a demo workspace with 15 example accounts and print how to sign in.
    DemoData,
    /// Manage encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

impl AdminCommand {
    /// Only what talks to the platforms starts the sandbox: the rest must run beside a running service,
    /// which holds the sandbox's state directory.
    fn platform_access(&self) -> PlatformAccess {
        match self {
            AdminCommand::Sandbox | AdminCommand::DemoData => PlatformAccess::Needed,
            AdminCommand::Migrate
            | AdminCommand::User { .. }
            | AdminCommand::Workspace { .. }
            | AdminCommand::Keys { .. } => PlatformAccess::NotNeeded,
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and a workspace they own. The password is read from standard input when
    /// --password-stdin is given, otherwise a strong one is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "My workspace")]
        workspace: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a link that lets the user choose a new password (single-use, valid 30 minutes). Runs beside
    /// the service; nothing is emailed.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Change a workspace's plan: free, starter, professional or enterprise.
    SetPlan { workspace: WorkspaceId, plan: Plan },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new key the active one and re-encrypt every stored credential under it, while the service runs.
    Rotate,
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    // Bound before anything else, so that `--listen 127.0.0.1:0` still gives the sandbox the real callback URL.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    config.listen = listener.local_addr()?;
    let app = App::open(config).await?;
    tracing::info!(addr = %app.config.listen, data_dir = %app.config.data_dir.display(), "iQuivity Social is listening");
    println!(
        "iQuivity Social is running at {}/",
        app.config.public_base()
    );
    if let Some(sandbox) = &app.sandbox {
        let names: Vec<&str> = sandbox
            .platforms()
            .iter()
            .map(|p| p.display_name())
            .collect();
        println!(
            "sandbox platforms (no credentials configured): {}",
            names.join(", ")
        );
    }
    if demo {
        let demo = iquivity::demo::create(&app).await?;
        println!(
            "demo workspace with {} accounts: sign in as {} with password {}",
            demo.accounts, demo.email, demo.password
        );
    }
    app.serve(listener, shutdown_signal()).await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line, with the causes after colons; the full report (and a backtrace, when it was
            // captured) only when RUST_BACKTRACE asks for it.
            if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                eprintln!("error: {err:?}");
            } else {
                eprintln!("error: {}", one_line(&err));
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. Some errors already show their source in their own message
/// (sqlx's and the store's do), so a cause whose text is already on the line is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run_cli(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref(), &|key| std::env::var(key).ok())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    if let Some(listen) = cli.listen {
        config.listen = listen;
    }
    let command = cli.command.unwrap_or(Command::Serve { demo: false });
    init_logging(&config);
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Admin(admin) => {
            let access = admin.platform_access();
            run(admin, App::open_for(config, access).await?).await
        }
    }
}

async fn run(command: AdminCommand, app: App) -> anyhow::Result<()> {
    match command {
        AdminCommand::Sandbox => {
            let Some(sandbox) = &app.sandbox else {
                bail!("every platform has credentials configured, so there is no sandbox to run");
            };
            for platform in sandbox.platforms() {
                let settings = app
                    .core
                    .platforms
                    .get(platform)
                    .map(|a| a.settings().clone());
                if let (Some(base), Some(settings)) = (sandbox.base_url(platform), settings) {
                    println!(
                        "{:<10} {base}  client_id={}  client_secret={}",
                        platform.as_str(),
                        settings.client_id,
                        secrecy::ExposeSecret::expose_secret(&settings.client_secret)
                    );
                }
            }
            println!(
                "callback URLs registered: {}/oauth/<platform>/callback; press Ctrl-C to stop",
                app.config.public_base()
            );
            shutdown_signal().await;
        }
        AdminCommand::Migrate => println!(
            "migrations applied to {}",
            iquivity::config::redact_password(&app.config.database_url()?)
        ),
        AdminCommand::User {
            command:
                UserCommand::Create {
                    email,
                    workspace,
                    password_stdin,
                },
        } => {
            let (password, generated) = if password_stdin {
                let mut input = String::new();
                std::io::stdin()
                    .read_to_string(&mut input)
                    .context("cannot read the password from standard input")?;
                (input.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (uuid::Uuid::new_v4().simple().to_string(), true)
            };
            let session = app
                .core
                .sign_up(SignUp::owner(&email, &password, &workspace))
                .await
                .map_err(|e| describe(&e))?;
            println!(
                "created user {} owning workspace {}",
                session.caller.email, session.caller.workspace_id
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        AdminCommand::User {
            command: UserCommand::ResetPassword { email },
        } => {
            let link = app
                .core
                .password_reset_link(&email)
                .await
                .map_err(|e| describe(&e))?;
            println!(
                "password reset link for {email} (works once, for {} minutes):\n{}",
                iquivity_core::auth::RESET_TTL_MINUTES,
                link.expose_secret()
            );
        }
        AdminCommand::Workspace {
            command: WorkspaceCommand::SetPlan { workspace, plan },
        } => {
            if !app.store_set_plan(workspace, plan).await? {
                bail!("no workspace with id {workspace}");
            }
            println!("workspace {workspace} is now on the {plan} plan");
        }
        AdminCommand::DemoData => {
            let demo = iquivity::demo::create(&app).await?;
            println!(
                "demo workspace {} with {} accounts, connected through the sandbox",
                demo.workspace_id, demo.accounts
            );
            println!("sign in as {} with password {}", demo.email, demo.password);
        }
        AdminCommand::Keys {
            command: KeysCommand::Rotate,
        } => {
            let report = app.core.rotate_keys().await.map_err(|e| describe(&e))?;
            println!(
                "active key is now {}; {} credentials re-encrypted",
                report.new_key_id, report.resealed
            );
        }
    }
    Ok(())
}

fn describe(err: &iquivity_core::CoreError) -> anyhow::Error {
    match err {
        iquivity_core::CoreError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
