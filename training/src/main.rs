//! `arbpolicy`: the engine's command line.

use anyhow::{Context, Result};
use arbpolicy_core::EnvParams;
use arbpolicy_core::json::decide_json;
use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use arbpolicy_core::policy::artifact::ARTIFACT_LEN;
use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_train::PolicyFile;
use arbpolicy_train::history::{HOUR_MS, History, date_ms};
use arbpolicy_train::job::{EvaluateJob, Source, TrainJob, Trained, evaluate, train};
use arbpolicy_train::ppo::PpoConfig;
use arbpolicy_train::replay::replay;
use arbpolicy_train::statistics::{MarketStatistics, SideBySide};
use arbpolicy_train::trainer::TrainConfig;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "arbpolicy", version, about = "Funding-rate arbitrage with a reinforcement-learning policy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the market comes from: recorded data over a window, else the built-in synthetic market.
#[derive(clap::Args, Debug, Clone)]
struct MarketArgs {
    /// Recorded data (the format of `docs/market-data.md`); without it, the built-in market.
    #[arg(long)]
    data: Option<PathBuf>,
    /// First day, `YYYY-MM-DD` (UTC). With `--data`; default: one year before the window's end.
    #[arg(long)]
    from: Option<String>,
    /// The built-in market's seed.
    #[arg(long, default_value_t = 0)]
    synthetic_seed: u64,
    /// The built-in market's length, hours.
    #[arg(long, default_value_t = 24 * 180)]
    synthetic_hours: usize,
}

impl MarketArgs {
    /// The source, with the window ending before `to` (a `YYYY-MM-DD` day) for recorded data.
    fn source(&self, to: Option<&str>) -> Result<Source> {
        let Some(dir) = &self.data else {
            anyhow::ensure!(
                self.from.is_none() && to.is_none(),
                "a window (--from, --until, --to) needs recorded data (--data)"
            );
            return Ok(Source::Synthetic { seed: self.synthetic_seed, hours: self.synthetic_hours });
        };
        let to = date_ms(to.context("recorded data needs the window's end (--until or --to)")?)? / HOUR_MS;
        let from = match &self.from {
            Some(d) => date_ms(d)? / HOUR_MS,
            None => to - 365 * 24,
        };
        Ok(Source::Recorded { dir: dir.clone(), from, to })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train the policy with masked PPO, then export it (ONNX and native artifact).
    Train {
        #[command(flatten)]
        market: MarketArgs,
        /// Day before which everything is read, `YYYY-MM-DD` (UTC; nothing at or after it is used).
        #[arg(long)]
        until: Option<String>,
        /// PPO updates.
        #[arg(long, default_value_t = 60)]
        updates: usize,
        /// Environments stepped in parallel.
        #[arg(long, default_value_t = 8)]
        envs: usize,
        /// Environment steps per update (all environments together).
        #[arg(long, default_value_t = 2048)]
        steps: usize,
        /// Episode length, hours.
        #[arg(long, default_value_t = 168)]
        episode_hours: usize,
        /// Seed of the weights, the environments and the minibatches.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output directory.
        #[arg(long, default_value = "runs/train")]
        out: PathBuf,
        /// Updates between checkpoints.
        #[arg(long, default_value_t = 10)]
        checkpoint_every: usize,
        /// Continue from the checkpoint in the output directory.
        #[arg(long)]
        resume: bool,
    },
    /// Run a policy and the three baselines through a window; print and write the comparison.
    Evaluate {
        /// The policy: an ONNX model or a native weights artifact.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        market: MarketArgs,
        /// Day after the window, `YYYY-MM-DD` (UTC). With `--data`.
        #[arg(long)]
        to: Option<String>,
        /// Capital of each configuration's book, USD.
        #[arg(long, default_value_t = 10_000.0)]
        capital: f64,
        /// Seed of the random baseline.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The Markdown report (an `equity.png` is written beside it).
        #[arg(long, default_value = "report.md")]
        report: PathBuf,
    },
    /// Train on the built-in market, export, evaluate on a held-out stretch of it against the
    /// baselines, and decide on the example request.
    Demo {
        /// Output directory.
        #[arg(long, default_value = "runs/demo")]
        out: PathBuf,
        /// PPO updates.
        #[arg(long, default_value_t = DEMO_UPDATES)]
        updates: usize,
    },
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

/// The demo's training length, sized to finish within minutes on two cores.
const DEMO_UPDATES: usize = 160;

/// The example request the demo decides on.
const EXAMPLE_REQUEST: &str = include_str!("../../examples/request.json");

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
        Command::Train {
            market,
            until,
            updates,
            envs,
            steps,
            episode_hours,
            seed,
            out,
            checkpoint_every,
            resume,
        } => {
            anyhow::ensure!(
                updates > 0 && envs > 0 && steps >= envs,
                "updates, envs and steps must be positive"
            );
            let config = TrainConfig {
                ppo: PpoConfig { n_steps: steps, ..PpoConfig::default() },
                envs,
                updates,
                seed,
                env: EnvParams { episode_hours, ..EnvParams::default() },
            };
            let job = TrainJob {
                source: market.source(until.as_deref())?,
                config,
                out,
                checkpoint_every,
                resume,
                progress: std::io::stderr().is_terminal(),
            };
            let trained = train(&job)?;
            print_training(&job, &trained);
            Ok(())
        }
        Command::Evaluate { model, market, to, capital, seed, report } => {
            let job = EvaluateJob { model, source: market.source(to.as_deref())?, capital, seed, report };
            let e = evaluate(&job)?;
            println!("{}", e.overall_table());
            eprintln!("wrote {}", job.report.display());
            Ok(())
        }
        Command::Demo { out, updates } => demo(&out, updates),
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

fn print_training(job: &TrainJob, trained: &Trained) {
    let last = trained.metrics.last();
    eprintln!(
        "trained {} updates ({} steps) in {:.0} s on {}; last episode return {}",
        trained.metrics.len(),
        last.map_or(0, |m| m.steps),
        trained.seconds,
        job.source.describe(),
        last.map_or("-".into(), |m| format!("{:+.3}", m.episode_return)),
    );
    eprintln!(
        "wrote {} and {} (tract matches the network within {:.1e}, relative beyond 1), {}, {}",
        trained.exported.onnx.display(),
        trained.exported.native.display(),
        trained.exported.parity,
        job.out.join("metrics.csv").display(),
        job.out.join("learning-curves.png").display(),
    );
}

/// The main job on the built-in market: train, export, evaluate on a held-out market, decide.
fn demo(out: &std::path::Path, updates: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let job = TrainJob {
        source: Source::Synthetic { seed: 0, hours: 24 * 180 },
        config: TrainConfig {
            ppo: PpoConfig::default(),
            envs: 8,
            updates,
            seed: 0,
            env: EnvParams::default(),
        },
        out: out.to_path_buf(),
        checkpoint_every: 10,
        resume: false,
        progress: std::io::stderr().is_terminal(),
    };
    eprintln!("training on the built-in market ({updates} updates of {} steps)...", job.config.ppo.n_steps);
    let trained = train(&job)?;
    print_training(&job, &trained);
    let evaluation = EvaluateJob {
        model: trained.exported.onnx.clone(),
        // Another seed: a market the policy never saw.
        source: Source::Synthetic { seed: 1, hours: 24 * 60 },
        capital: 10_000.0,
        seed: 0,
        report: out.join("report.md"),
    };
    eprintln!("evaluating on a held-out market against HOLD, random and the rule...");
    let e = evaluate(&evaluation)?;
    println!("{}", e.overall_table());
    let file = PolicyFile::from_path(&trained.exported.onnx)?;
    let mut session = file.session()?;
    println!("decision on examples/request.json:\n{}", decide_json(&mut session, EXAMPLE_REQUEST)?);
    eprintln!("wrote {}; done in {:.0} s", evaluation.report.display(), started.elapsed().as_secs_f64());
    Ok(())
}
