//! `arbpolicy`: the engine's command line.

use anyhow::{Context, Result};
use arbpolicy_core::json::decide_json;
use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use arbpolicy_core::policy::artifact::ARTIFACT_LEN;
use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_train::PolicyFile;
use arbpolicy_train::history::{HOUR_MS, History, date_ms};
use arbpolicy_train::replay::replay;
use arbpolicy_train::statistics::{MarketStatistics, SideBySide};
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
    /// Statistics of the recorded market over a window, beside the built-in synthetic market's.
    MarketStats {
        /// The recorded data (the format of `docs/market-data.md`).
        #[arg(long)]
        data: PathBuf,
        /// First day of the window, `YYYY-MM-DD` (UTC).
        #[arg(long)]
        from: String,
        /// Day after the window, `YYYY-MM-DD` (UTC).
        #[arg(long)]
        to: String,
    },
    /// Convert an ONNX model of the plan's network into a native weights artifact.
    Convert {
        /// The ONNX model.
        #[arg(long)]
        model: PathBuf,
        /// Where to write the artifact.
        #[arg(long)]
        out: PathBuf,
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
            let file = PolicyFile::from_path(&model)
                .with_context(|| format!("cannot load the model {}", model.display()))?;
            let mut policy = file.session()?;
            println!("{}", decide_json(&mut policy, &text)?);
            Ok(())
        }
        Command::MarketStats { data, from, to } => {
            let (from, to) = (date_ms(&from)? / HOUR_MS, date_ms(&to)? / HOUR_MS);
            let history = History::load(&data, Some(to * HOUR_MS))
                .with_context(|| format!("cannot load the data in {}", data.display()))?;
            let recorded = MarketStatistics::of(&replay(&history, from, to)?);
            let params = SyntheticParams::default();
            let synthetic = MarketStatistics::of(&SyntheticMarket::generate(0, &params));
            print!("{}", SideBySide([("recorded", &recorded), ("synthetic (seed 0)", &synthetic)]));
            Ok(())
        }
        Command::Convert { model, out } => {
            let onnx = OnnxModel::from_path(&model)
                .with_context(|| format!("cannot load the model {}", model.display()))?;
            let network = onnx.to_native().with_context(|| format!("cannot convert {}", model.display()))?;
            let mut bytes = vec![0u8; ARTIFACT_LEN];
            network.write_artifact(bytes.as_mut_slice().try_into().expect("artifact length"));
            std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
    }
}
