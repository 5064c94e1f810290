//! `arbpolicy`: the engine's command line.

use anyhow::{Context, Result};
use arbpolicy_core::EnvParams;
use arbpolicy_core::config::DEFAULT_FEE_RATE;
use arbpolicy_core::environment::DEFAULT_SLIPPAGE;
use arbpolicy_core::json::decide_json;
use arbpolicy_core::market::SyntheticMarket;
use arbpolicy_core::policy::Architecture;
use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_core::reward::RewardParams;
use arbpolicy_core::time::HOUR_MS;
use arbpolicy_train::PolicyFile;
use arbpolicy_train::evaluation::Costs;
use arbpolicy_train::history::{History, date_ms};
use arbpolicy_train::job::{EvaluateJob, MarketKind, Source, TrainJob, Trained, evaluate, train};
use arbpolicy_train::pbt::{PbtJob, pbt};
use arbpolicy_train::population::{Curriculum, PbtConfig};
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
    /// The built-in market: `default` (typical hours of the recorded data) or `edge` (the
    /// learner's health check: persistent premiums whose right policy is known).
    #[arg(long, value_enum, default_value_t = MarketKind::Default)]
    market: MarketKind,
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
            return Ok(Source::Synthetic {
                kind: self.market,
                seed: self.synthetic_seed,
                hours: self.synthetic_hours,
            });
        };
        let to = date_ms(to.context("recorded data needs the window's end (--until or --to)")?)? / HOUR_MS;
        let from = match &self.from {
            Some(d) => date_ms(d)? / HOUR_MS,
            None => to - 365 * 24,
        };
        Ok(Source::Recorded { dir: dir.clone(), from, to })
    }
}

/// What every fill costs.
#[derive(clap::Args, Debug, Clone, Copy)]
struct CostArgs {
    /// Taker fee per side and leg, fraction of the notional (0.0005: a VIP-0 taker fee; the
    /// implementation plan's 0.001 is also accepted).
    #[arg(long, default_value_t = DEFAULT_FEE_RATE)]
    fee: f64,
    /// Slippage per leg at every fill, basis points of the notional.
    #[arg(long, default_value_t = DEFAULT_SLIPPAGE * 1e4)]
    slippage_bps: f64,
}

impl CostArgs {
    /// The costs (the environment refuses a fee or slippage outside its range).
    fn costs(&self) -> Costs {
        Costs { fee_rate: self.fee, slippage: self.slippage_bps / 1e4 }
    }
}

/// The recommended settings, the command line's defaults.
fn rec() -> TrainConfig {
    TrainConfig::recommended(DEMO_UPDATES, 0)
}

/// PPO's hyper-parameters and the episodes it learns from (defaults: [`TrainConfig::recommended`]).
#[derive(clap::Args, Debug, Clone, Copy)]
struct PpoArgs {
    /// Environments stepped in parallel.
    #[arg(long, default_value_t = rec().envs)]
    envs: usize,
    /// Environment steps per update (all environments together); each environment runs
    /// n-steps / envs hours an update.
    #[arg(long, default_value_t = rec().ppo.n_steps)]
    n_steps: usize,
    /// Episode length, hours (an episode longer than an update's hours is cut there and
    /// bootstrapped from its value).
    #[arg(long, default_value_t = rec().env.episode_hours)]
    episode_hours: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = rec().ppo.learning_rate)]
    lr: f64,
    /// Discount per hour.
    #[arg(long, default_value_t = rec().ppo.gamma)]
    gamma: f32,
    /// GAE's lambda.
    #[arg(long, default_value_t = rec().ppo.gae_lambda)]
    lambda: f32,
    /// Clip range of the probability ratio and of the value change.
    #[arg(long, default_value_t = rec().ppo.clip)]
    clip: f32,
    /// Entropy coefficient at the first update.
    #[arg(long, default_value_t = rec().ppo.entropy_coef)]
    ent_coef: f32,
    /// Entropy coefficient at the last update, reached linearly.
    #[arg(long, default_value_t = rec().ppo.entropy_coef_final)]
    ent_coef_final: f32,
    /// Weight of the value loss.
    #[arg(long, default_value_t = rec().ppo.value_coef)]
    vf_coef: f32,
    /// Passes over each rollout.
    #[arg(long, default_value_t = rec().ppo.epochs)]
    epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = rec().ppo.batch_size)]
    minibatch: usize,
    /// The reward: `pnl` (percent of capital, every cost in it once) or `plan` (the implementation
    /// plan's, with its entry, liquidation and stop-loss penalties).
    #[arg(long, value_enum, default_value_t = RewardKind::Pnl)]
    reward: RewardKind,
    /// Do not scale rewards by the running deviation of the returns.
    #[arg(long)]
    raw_rewards: bool,
    /// Do not fit the observation's normalisation (the model gets the identity).
    #[arg(long)]
    raw_observations: bool,
    /// The network: `plan` (the implementation plan's pooled actor) or `pointer` (each slot
    /// scored from its own features).
    #[arg(long, value_parser = architecture, default_value_t = rec().network)]
    network: Architecture,
}

/// An architecture by its name, for `--network`.
fn architecture(name: &str) -> Result<Architecture, String> {
    Architecture::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Architecture::ALL.iter().map(|a| a.name()).collect();
        format!("unknown network `{name}`: one of {}", names.join(", "))
    })
}

/// The population (defaults: the implementation plan's, [`PbtConfig::plan`]).
#[derive(clap::Args, Debug, Clone, Copy)]
struct PopulationArgs {
    /// Members.
    #[arg(long, default_value_t = 8)]
    population: usize,
    /// Environment steps of each member between two scorings.
    #[arg(long, default_value_t = 50_000)]
    interval_steps: usize,
    /// Environment steps of each member in all.
    #[arg(long, default_value_t = 2_000_000)]
    steps: usize,
    /// Steps a member trains before it may be replaced (default: one interval).
    #[arg(long)]
    burn_in_steps: Option<usize>,
    /// Share of the population replaced after an interval, and of the members copied.
    #[arg(long, default_value_t = 0.25)]
    quantile: f64,
    /// Probability that an explored hyper-parameter is resampled rather than perturbed.
    #[arg(long, default_value_t = 0.25)]
    resample_probability: f64,
    /// Threads the members train on together (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// The population's seed (member k trains from seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The curriculum: `plan` (the implementation plan's three phases, adapted: `docs/training.md`)
    /// or `off` (the PPO flags' settings throughout).
    #[arg(long, value_enum, default_value_t = Curriculum::Plan)]
    curriculum: Curriculum,
}

impl PopulationArgs {
    fn config(&self, base: TrainConfig) -> PbtConfig {
        PbtConfig {
            population: self.population,
            interval_steps: self.interval_steps,
            steps: self.steps,
            burn_in_steps: self.burn_in_steps.unwrap_or(self.interval_steps),
            quantile: self.quantile,
            resample_probability: self.resample_probability,
            threads: self.threads,
            curriculum: self.curriculum,
            ..PbtConfig::plan(base, self.seed)
        }
    }
}

/// The training reward.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq)]
enum RewardKind {
    /// The P&L in percent of initial capital.
    Pnl,
    /// The implementation plan's reward.
    Plan,
}

impl PpoArgs {
    /// The run of `updates` updates from `seed`, every fill paying `costs`.
    fn config(&self, updates: usize, seed: u64, costs: Costs) -> Result<TrainConfig> {
        anyhow::ensure!(
            updates > 0 && self.envs > 0 && self.n_steps >= self.envs && self.episode_hours > 0,
            "updates, envs, steps and episode hours must be positive, steps at least envs"
        );
        anyhow::ensure!(
            self.minibatch >= 2 && self.epochs > 0,
            "minibatches of at least 2, at least one epoch"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.gamma) && (0.0..=1.0).contains(&self.lambda),
            "gamma must be in [0, 1) and lambda in [0, 1]"
        );
        anyhow::ensure!(self.lr > 0.0 && self.clip > 0.0, "the learning rate and the clip must be positive");
        let ppo = PpoConfig {
            learning_rate: self.lr,
            n_steps: self.n_steps,
            batch_size: self.minibatch,
            epochs: self.epochs,
            gamma: self.gamma,
            gae_lambda: self.lambda,
            clip: self.clip,
            entropy_coef: self.ent_coef,
            entropy_coef_final: self.ent_coef_final,
            value_coef: self.vf_coef,
            ..PpoConfig::default()
        };
        let reward = match self.reward {
            RewardKind::Pnl => RewardParams::default(),
            RewardKind::Plan => RewardParams::plan(),
        };
        let env = EnvParams { episode_hours: self.episode_hours, reward, ..EnvParams::default() };
        let config = TrainConfig {
            envs: self.envs,
            normalize_observations: !self.raw_observations,
            scale_rewards: !self.raw_rewards,
            network: self.network,
            ..TrainConfig::new(ppo, updates, seed, env)
        };
        Ok(config.paying(costs))
    }
}

/// The default of `--updates`.
const TRAIN_UPDATES: usize = 60;

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
        #[arg(long, default_value_t = TRAIN_UPDATES)]
        updates: usize,
        #[command(flatten)]
        ppo: PpoArgs,
        #[command(flatten)]
        costs: CostArgs,
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
        /// Start from the checkpoint in this directory (weights, Adam's state, reward scale,
        /// progress) with these options' hyper-parameters, and run `--updates` more updates: a
        /// population member driven from outside (`training/ray/pbt.py`).
        #[arg(long)]
        init_from: Option<PathBuf>,
        /// Threads the rollouts use (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Score the trained policy on the window from `--until` to this day and write
        /// `fitness.json` (the population's fitness). With `--data`.
        #[arg(long)]
        validate_until: Option<String>,
        /// Score the trained policy on 1,440 hours of the built-in market of this seed and write
        /// `fitness.json`.
        #[arg(long)]
        validation_seed: Option<u64>,
    },
    /// Population-based training: PPO runs with their own hyper-parameters on one window, scored
    /// on a validation window after it, the worst copying the best; the best is exported.
    Pbt {
        #[command(flatten)]
        market: MarketArgs,
        /// Day the training window ends, `YYYY-MM-DD` (UTC, exclusive). With `--data`.
        #[arg(long)]
        until: Option<String>,
        /// Day the validation window ends (it starts at `--until`). With `--data`.
        #[arg(long)]
        validate_until: Option<String>,
        /// First day of the window the result will be reported on: the validation window must end
        /// before it. With `--data`.
        #[arg(long)]
        test_from: Option<String>,
        /// The seed of the built-in market the members are scored on (1,440 hours; default 2).
        #[arg(long)]
        validation_seed: Option<u64>,
        /// The seed of the built-in market the result will be reported on (`demo` and the health
        /// check evaluate on seed 1): the validation seed must differ.
        #[arg(long, default_value_t = 1)]
        test_seed: u64,
        #[command(flatten)]
        population: PopulationArgs,
        #[command(flatten)]
        ppo: PpoArgs,
        #[command(flatten)]
        costs: CostArgs,
        /// Output directory.
        #[arg(long, default_value = "runs/pbt")]
        out: PathBuf,
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
        #[command(flatten)]
        costs: CostArgs,
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
        /// The network (see `train --network`).
        #[arg(long, value_parser = architecture, default_value_t = rec().network)]
        network: Architecture,
        #[command(flatten)]
        costs: CostArgs,
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
        /// The built-in market set beside it (60 days, seed 0).
        #[arg(long, value_enum, default_value_t = MarketKind::Default)]
        market: MarketKind,
    },
    /// Convert an ONNX model (either network, `docs/model-contract.md`) into a native weights
    /// artifact.
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
            ppo,
            costs,
            seed,
            out,
            checkpoint_every,
            resume,
            init_from,
            threads,
            validate_until,
            validation_seed,
        } => {
            let config = TrainConfig { threads, ..ppo.config(updates, seed, costs.costs())? };
            let source = market.source(until.as_deref())?;
            let validation = validation_window(&source, validate_until.as_deref(), validation_seed)?;
            if let Some(v) = &validation {
                arbpolicy_train::pbt::check_windows(&source, v, None)?;
            }
            let job = TrainJob {
                source,
                config,
                out,
                checkpoint_every,
                resume,
                init_from,
                validation,
                progress: std::io::stderr().is_terminal(),
            };
            let trained = train(&job)?;
            print_training(&job, &trained);
            if let Some(f) = trained.fitness {
                println!("fitness {f:+.6} % on the validation window");
            }
            Ok(())
        }
        Command::Pbt {
            market,
            until,
            validate_until,
            test_from,
            validation_seed,
            test_seed,
            population,
            ppo,
            costs,
            out,
            resume,
        } => {
            let source = market.source(until.as_deref())?;
            let (validation, test) = match &source {
                Source::Recorded { dir, .. } => {
                    let test = test_from
                        .map(|d| -> Result<Source> {
                            let from = date_ms(&d)? / HOUR_MS;
                            Ok(Source::Recorded { dir: dir.clone(), from, to: from })
                        })
                        .transpose()?;
                    (validation_window(&source, validate_until.as_deref(), validation_seed)?, test)
                }
                Source::Synthetic { .. } => {
                    anyhow::ensure!(test_from.is_none(), "--test-from needs recorded data (--data)");
                    let seed = validation_seed.unwrap_or(2);
                    (
                        validation_window(&source, None, Some(seed))?,
                        validation_window(&source, None, Some(test_seed))?,
                    )
                }
            };
            let validation = validation.context("recorded data needs --validate-until")?;
            let base = ppo.config(1, population.seed, costs.costs())?;
            let job = PbtJob {
                source,
                validation,
                test,
                config: population.config(base),
                out,
                resume,
                progress: true,
            };
            let outcome = pbt(&job)?;
            let last = |k: usize| outcome.fitness[k].last().copied().unwrap_or(f64::NAN);
            println!(
                "best member {} of {}: validation fitness {:+.3} % (mean of the members {:+.3} %); {} exploits; \
                 {:.0} samples/s for the population in {:.0} s",
                outcome.best,
                outcome.fitness.len(),
                last(outcome.best),
                (0..outcome.fitness.len()).map(last).sum::<f64>() / outcome.fitness.len() as f64,
                outcome.exploits,
                outcome.samples_per_second,
                outcome.seconds
            );
            eprintln!(
                "wrote {}, {}, {}",
                outcome.exported.onnx.display(),
                job.out.join("report.md").display(),
                job.out.join("lineage.jsonl").display()
            );
            Ok(())
        }
        Command::Evaluate { model, market, to, capital, seed, costs, report } => {
            let costs = costs.costs();
            let job =
                EvaluateJob { model, source: market.source(to.as_deref())?, capital, seed, costs, report };
            let e = evaluate(&job)?;
            println!("{}\n{}", e.overall_table(), e.significance(job.seed));
            eprintln!("wrote {}", job.report.display());
            Ok(())
        }
        Command::Demo { out, updates, network, costs } => demo(&out, updates, network, costs.costs()),
        Command::MarketStats { data, from, to, market } => {
            let (from, to) = (date_ms(&from)? / HOUR_MS, date_ms(&to)? / HOUR_MS);
            let history = History::load(&data, Some(to * HOUR_MS))
                .with_context(|| format!("cannot load the data in {}", data.display()))?;
            let recorded = MarketStatistics::of(&replay(&history, from, to)?);
            let synthetic = MarketStatistics::of(&SyntheticMarket::generate(0, &market.params(24 * 60)));
            print!("{}", SideBySide([("recorded", &recorded), ("built-in (seed 0)", &synthetic)]));
            Ok(())
        }
        Command::Convert { model, out } => {
            let onnx = OnnxModel::from_path(&model)
                .with_context(|| format!("cannot load the model {}", model.display()))?;
            let network = onnx.to_native().with_context(|| format!("cannot convert {}", model.display()))?;
            let bytes = network.to_artifact();
            std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
    }
}

/// The validation window after `source`: from its end to `until` on recorded data, or 1,440 hours
/// of the built-in market of `seed`; none without either.
fn validation_window(source: &Source, until: Option<&str>, seed: Option<u64>) -> Result<Option<Source>> {
    match (source, until, seed) {
        (_, Some(_), Some(_)) => anyhow::bail!("--validate-until and --validation-seed exclude each other"),
        (Source::Recorded { dir, to, .. }, Some(end), None) => {
            Ok(Some(Source::Recorded { dir: dir.clone(), from: *to, to: date_ms(end)? / HOUR_MS }))
        }
        (Source::Synthetic { kind, .. }, None, Some(seed)) => {
            Ok(Some(Source::Synthetic { kind: *kind, seed, hours: 24 * 60 }))
        }
        (_, None, None) => Ok(None),
        _ => anyhow::bail!("--validate-until goes with --data, --validation-seed with the built-in market"),
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
fn demo(out: &std::path::Path, updates: usize, network: Architecture, costs: Costs) -> Result<()> {
    let started = std::time::Instant::now();
    let job = TrainJob {
        source: Source::Synthetic { kind: MarketKind::Default, seed: 0, hours: 24 * 180 },
        config: TrainConfig { network, ..TrainConfig::recommended(updates, 0) }.paying(costs),
        out: out.to_path_buf(),
        checkpoint_every: 10,
        resume: false,
        init_from: None,
        validation: None,
        progress: std::io::stderr().is_terminal(),
    };
    eprintln!("training on the built-in market ({updates} updates of {} steps)...", job.config.ppo.n_steps);
    let trained = train(&job)?;
    print_training(&job, &trained);
    let evaluation = EvaluateJob {
        model: trained.exported.onnx.clone(),
        // Another seed: a market the policy never saw.
        source: Source::Synthetic { kind: MarketKind::Default, seed: 1, hours: 24 * 60 },
        capital: 10_000.0,
        seed: 0,
        costs,
        report: out.join("report.md"),
    };
    eprintln!("evaluating on a held-out market against HOLD, random, the rule and the ceiling...");
    let e = evaluate(&evaluation)?;
    println!("{}", e.overall_table());
    let file = PolicyFile::from_path(&trained.exported.onnx)?;
    let mut session = file.session()?;
    println!("decision on examples/request.json:\n{}", decide_json(&mut session, EXAMPLE_REQUEST)?);
    eprintln!("wrote {}; done in {:.0} s", evaluation.report.display(), started.elapsed().as_secs_f64());
    Ok(())
}
