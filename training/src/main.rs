//! `arbpolicy`: the engine's command line.

use anyhow::{Context, Result};
use arbpolicy_core::json::decide_json;
use arbpolicy_train::PolicyFile;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "arbpolicy", version, about = "Funding-rate arbitrage with a reinforcement-learning policy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer a JSON request (docs/decision-json.md) with a JSON decision.
    Decide {
        /// The policy: an ONNX model or a native weights artifact.
        #[arg(long)]
        model: PathBuf,
        /// The request file, or `-` for standard input.
        #[arg(long, default_value = "-")]
        request: String,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("arbpolicy: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Decide { model, request } => {
            let text = if request == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the request from standard input")?;
                s
            } else {
                std::fs::read_to_string(&request)
                    .with_context(|| format!("cannot read the request {request}"))?
            };
            let file = PolicyFile::load(&model)?;
            let mut policy = file.policy()?;
            println!("{}", decide_json(&mut policy, &text)?);
            Ok(())
        }
    }
}
