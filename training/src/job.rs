//! The command line's jobs: train (with checkpoints, a metrics CSV, a progress bar, learning
//! curves and the export), evaluate against the baselines (with a Markdown report and an equity
//! chart), and the demo that does both on the built-in market and then decides.

use crate::ceiling::{Ceiling, ceiling};
use crate::evaluation::{
    self, Agent, Costs, Greedy, Hold, RandomValid, Rule, Run, pooled, representative_configs,
};
use crate::export::{Exported, export};
use crate::history::{History, day_of_hour};
use crate::network::PolicyNet;
use crate::replay::replay;
use crate::report::{Line, Panel, line_chart, table};
use crate::rollout::sample_observations;
use crate::trainer::{TrainConfig, Trainer, UpdateMetrics};
use crate::{PolicyFile, evaluation::Metrics};
use anyhow::{Context, Result};
use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};
use arbpolicy_core::time::HOUR_MS;
use arbpolicy_core::{Market, TradingConfig};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Which built-in market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MarketKind {
    /// Calibrated to the recorded data's typical hours ([`SyntheticParams::default`]).
    Default,
    /// The learner's health check: persistent premiums whose right policy is known
    /// ([`SyntheticParams::edge`]).
    Edge,
}

impl MarketKind {
    /// Its parameters, `hours` long.
    pub fn params(self, hours: usize) -> SyntheticParams {
        let base = match self {
            MarketKind::Default => SyntheticParams::default(),
            MarketKind::Edge => SyntheticParams::edge(),
        };
        SyntheticParams { hours, ..base }
    }
}

/// Hours a built-in market runs before its window opens: the longest average an opportunity
/// carries (3 days).
pub const WARM_UP: usize = 72;

/// Where a job's market comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The built-in synthetic market.
    Synthetic {
        /// Which.
        kind: MarketKind,
        /// Its seed.
        seed: u64,
        /// Its length, hours.
        hours: usize,
    },
    /// Recorded data (`docs/market-data.md`) over `[from, to)`, hours since the epoch.
    Recorded {
        /// The data's directory.
        dir: PathBuf,
        /// First hour.
        from: i64,
        /// Hour after the last.
        to: i64,
    },
}

impl Source {
    /// The market, hour by hour; nothing at or after the window's end is read.
    pub fn load(&self) -> Result<MemoryMarket> {
        match self {
            Source::Synthetic { kind, seed, hours } => {
                // Generated with a lead of WARM_UP hours that is cut off: the window opens with
                // its 24 h and 3-day averages filled, as a replay of recorded data does.
                let market = SyntheticMarket::generate(*seed, &kind.params(*hours + WARM_UP));
                Ok(MemoryMarket::new(market.into_snapshots().split_off(WARM_UP)))
            }
            Source::Recorded { dir, from, to } => {
                let history = History::load(dir, Some(to * HOUR_MS))
                    .with_context(|| format!("cannot load the data in {}", dir.display()))?;
                let market = replay(&history, *from, *to)?;
                anyhow::ensure!(
                    (0..market.hours()).any(|t| !market.opportunities(t).is_empty()),
                    "the window {} .. {} holds no tradable hour: the data in {} has no two venues of a coin \
                     quoted together there",
                    day_of_hour(*from),
                    day_of_hour(*to),
                    dir.display()
                );
                Ok(market)
            }
        }
    }

    /// What it is, for metadata and reports.
    pub fn describe(&self) -> String {
        let day = day_of_hour;
        match self {
            Source::Synthetic { kind, seed, hours } => {
                let name = clap::ValueEnum::to_possible_value(kind).map(|v| v.get_name().to_string());
                format!("built-in {} market, seed {seed}, {hours} hours", name.unwrap_or_default())
            }
            Source::Recorded { dir, from, to } => {
                format!("recorded data {} from {} to {} UTC (exclusive)", dir.display(), day(*from), day(*to))
            }
        }
    }
}

/// What `train` does.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainJob {
    /// The market trained on.
    pub source: Source,
    /// The run.
    pub config: TrainConfig,
    /// The directory written: `metrics.csv`, `learning-curves.png`, `checkpoint/`, `policy.onnx`,
    /// `policy.arbpnet`.
    pub out: PathBuf,
    /// Updates between checkpoints.
    pub checkpoint_every: usize,
    /// Continue from `out/checkpoint`.
    pub resume: bool,
    /// Start from the checkpoint in this directory with this job's settings and run
    /// `config.updates` more updates ([`Trainer::warm_start`]).
    pub init_from: Option<PathBuf>,
    /// Score the trained policy on this window ([`crate::population::fitness`]) into
    /// `out/fitness.json`.
    pub validation: Option<Source>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What `train` wrote.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The exported model.
    pub exported: Exported,
    /// Every update's figures (of this invocation).
    pub metrics: Vec<UpdateMetrics>,
    /// Seconds spent.
    pub seconds: f64,
    /// The fitness on the validation window, if one was given.
    pub fitness: Option<f64>,
}

/// One row of `metrics.csv`: an update's figures, flat; the columns are the fields' names.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct MetricsRow {
    update: usize,
    steps: usize,
    episodes: usize,
    episode_return: f64,
    reward_mean: f64,
    entropy_coef: f64,
    loss: f32,
    policy_loss: f32,
    value_loss: f32,
    entropy: f32,
    approx_kl: f32,
    clip_fraction: f32,
    explained_variance: f64,
    hold: f64,
    enter: f64,
    exit: f64,
}

impl From<&UpdateMetrics> for MetricsRow {
    fn from(m: &UpdateMetrics) -> Self {
        let l = &m.loss;
        MetricsRow {
            update: m.update,
            steps: m.steps,
            episodes: m.episodes,
            episode_return: m.episode_return,
            reward_mean: m.reward_mean,
            entropy_coef: m.entropy_coef,
            loss: l.total,
            policy_loss: l.policy,
            value_loss: l.value,
            entropy: l.entropy,
            approx_kl: l.approx_kl,
            clip_fraction: l.clip_fraction,
            explained_variance: m.explained_variance,
            hold: m.action_mix[0],
            enter: m.action_mix[1],
            exit: m.action_mix[2],
        }
    }
}

/// The rows of a metrics file.
fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = reader.deserialize().collect::<Result<Vec<MetricsRow>, _>>();
    rows.with_context(|| format!("{} is not a metrics file of this version", path.display()))
}

/// Write every row to a metrics file.
fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    let write = || -> Result<(), csv::Error> {
        let mut writer = csv::Writer::from_path(path)?;
        rows.iter().try_for_each(|r| writer.serialize(r))?;
        Ok(writer.flush()?)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Train, checkpointing and logging as it goes, then export.
pub fn train(job: &TrainJob) -> Result<Trained> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&job.out).with_context(|| format!("cannot create {}", job.out.display()))?;
    let market = job.source.load()?;
    let checkpoint = job.out.join("checkpoint");
    anyhow::ensure!(!(job.resume && job.init_from.is_some()), "--resume and --init-from exclude each other");
    let mut trainer = match &job.init_from {
        Some(dir) => Trainer::warm_start(&market, job.config, dir)?,
        None if job.resume => Trainer::resume(&market, job.config, &checkpoint)?,
        None => Trainer::new(&market, job.config)?,
    };
    let csv_path = job.out.join("metrics.csv");
    let mut rows = if job.resume && csv_path.exists() {
        // Rows of updates after the checkpoint (an interrupted run's) are dropped: they are redone.
        let done = trainer.updates_done();
        read_metrics(&csv_path)?.into_iter().filter(|r| r.update <= done).collect()
    } else {
        Vec::new()
    };
    let total = trainer.config().updates as u64;
    let bar = if job.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} updates  {per_sec}  ETA {eta}  {msg}")
            .expect("a valid template"),
    );
    bar.set_position(trainer.updates_done() as u64);
    bar.reset_eta();
    let mut metrics = Vec::new();
    while !trainer.is_done() {
        let m = trainer.update()?;
        rows.push(MetricsRow::from(&m));
        write_metrics(&csv_path, &rows)?;
        if m.update % job.checkpoint_every.max(1) == 0 || trainer.is_done() {
            trainer.save(&checkpoint)?;
        }
        bar.set_message(format!("return {:+.3}  entropy {:.2}", m.episode_return, m.loss.entropy));
        bar.inc(1);
        metrics.push(m);
    }
    bar.finish_and_clear();
    learning_curves(&rows, &job.out.join("learning-curves.png"))?;

    let exported = export_run(
        trainer.net(),
        &market,
        trainer.config(),
        &job.source,
        trainer.updates_done(),
        &[],
        &job.out,
    )?;
    let fitness = match &job.validation {
        Some(source) => {
            let config = trainer.config();
            let costs = Costs { fee_rate: config.fee_rate, slippage: config.env.slippage };
            let f = crate::population::fitness(trainer.net(), &source.load()?, 10_000.0, costs)?;
            let report = serde_json::json!({
                "fitness": f,
                "updates": trainer.updates_done(),
                "steps": trainer.steps_done(),
                "validation": source.describe(),
            });
            let path = job.out.join("fitness.json");
            std::fs::write(&path, report.to_string())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(f)
        }
        None => None,
    };
    Ok(Trained { exported, metrics, seconds: started.elapsed().as_secs_f64(), fitness })
}

/// Export `net`, trained by `config` for `updates` updates on `market` from `source`, as
/// `out/policy.onnx` and `out/policy.arbpnet`, checked on observations the environment shows it,
/// with the run's metadata and `extra`.
pub(crate) fn export_run(
    net: &PolicyNet,
    market: &MemoryMarket,
    config: &TrainConfig,
    source: &Source,
    updates: usize,
    extra: &[(String, String)],
    out: &Path,
) -> Result<Exported> {
    let observations =
        sample_observations(market, config.env, config.fee_rate, &net.native(), 256, config.seed ^ 0xE0)?;
    let mut metadata = vec![
        ("arbpolicy.training_config".to_string(), format!("{config:?}")),
        ("arbpolicy.data_span".to_string(), source.describe()),
        ("arbpolicy.seed".to_string(), config.seed.to_string()),
        ("arbpolicy.updates".to_string(), updates.to_string()),
        ("arbpolicy.burn_version".to_string(), "0.22.1".to_string()),
    ];
    metadata.extend_from_slice(extra);
    export(net, &out.join("policy.onnx"), &metadata, &observations)
}

/// The learning curves of every update of the run, resumed or not.
fn learning_curves(rows: &[MetricsRow], path: &Path) -> Result<()> {
    let column = |f: fn(&MetricsRow) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
    let returns = column(|r| r.reward_mean);
    let (policy, value) = (column(|r| r.policy_loss.into()), column(|r| r.value_loss.into()));
    let (entropy, kl, clip, ev) = (
        column(|r| r.entropy.into()),
        column(|r| r.approx_kl.into()),
        column(|r| r.clip_fraction.into()),
        column(|r| r.explained_variance),
    );
    let (hold, enter, exit) = (column(|r| r.hold), column(|r| r.enter), column(|r| r.exit));
    line_chart(
        path,
        "update",
        1.0,
        &[
            Panel {
                title: "Mean reward per step (percent of capital)",
                series: &[Line { name: "reward", values: &returns }],
            },
            Panel {
                title: "Losses",
                series: &[Line { name: "policy", values: &policy }, Line { name: "value", values: &value }],
            },
            Panel {
                title: "Entropy, KL, clipping, explained variance",
                series: &[
                    Line { name: "entropy (nats)", values: &entropy },
                    Line { name: "approx. KL", values: &kl },
                    Line { name: "clip fraction", values: &clip },
                    Line { name: "explained variance", values: &ev },
                ],
            },
            Panel {
                title: "Action mix",
                series: &[
                    Line { name: "HOLD", values: &hold },
                    Line { name: "ENTER", values: &enter },
                    Line { name: "EXIT", values: &exit },
                ],
            },
        ],
    )
}

/// What `evaluate` does.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluateJob {
    /// The policy file (ONNX or native artifact).
    pub model: PathBuf,
    /// The window.
    pub source: Source,
    /// Capital of each configuration's book, USD.
    pub capital: f64,
    /// The seed of the random baseline.
    pub seed: u64,
    /// What every fill costs.
    pub costs: Costs,
    /// The Markdown report written (with `equity.png` beside it).
    pub report: PathBuf,
}

/// An evaluation's runs: per agent, one per configuration, then the pooled book; and the
/// ceiling of each configuration's book.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `(agent, per-configuration runs, pooled run)`.
    pub agents: Vec<(String, Vec<Run>, Run)>,
    /// The ceiling of each configuration's book, in the order of the runs.
    pub ceilings: Vec<Ceiling>,
}

impl Evaluation {
    /// The comparison table of the pooled books.
    pub fn overall_table(&self) -> String {
        let rows: Vec<_> = self.agents.iter().map(|a| (&a.2, Metrics::of(&a.2))).collect();
        table(&rows, &Ceiling::sum(&self.ceilings))
    }

    /// The block-bootstrap p-values of the policy's pooled hourly returns against HOLD's and the
    /// rule's ([`evaluation::block_bootstrap_p`]: one-day blocks, 2,000 resamples), as a line of
    /// Markdown.
    pub fn significance(&self, seed: u64) -> String {
        let returns = |name: &str| {
            self.agents.iter().find(|a| a.0 == name).map(|a| evaluation::hourly_returns(&a.2.equity))
        };
        let Some(policy) = returns("policy") else {
            return String::new();
        };
        let p = |other: &str| {
            returns(other).map_or(f64::NAN, |r| evaluation::block_bootstrap_p(&policy, &r, 24, 2000, seed))
        };
        format!(
            "p-value that the policy earns no more an hour (block bootstrap, 24 h blocks, 2,000 resamples): \
             against HOLD {:.4}, against the rule {:.4}",
            p("HOLD"),
            p("rule")
        )
    }

    /// The figures of `agent`'s pooled book, if it was run.
    pub fn pooled(&self, agent: &str) -> Option<Metrics> {
        self.agents.iter().find(|a| a.0 == agent).map(|a| Metrics::of(&a.2))
    }

    /// `agent`'s net P&L over the pooled ceiling's (NaN when there was nothing to earn).
    pub fn share_of_ceiling(&self, agent: &str) -> f64 {
        let ceiling = Ceiling::sum(&self.ceilings).profit();
        let pnl = self.agents.iter().find(|a| a.0 == agent).map(|a| {
            let equity = &a.2.equity;
            equity.last().copied().unwrap_or(0.0) - equity.first().copied().unwrap_or(0.0)
        });
        match pnl {
            Some(pnl) if ceiling > 0.0 => pnl / ceiling,
            _ => f64::NAN,
        }
    }

    /// The comparison table of configuration `k`'s books.
    pub fn config_table(&self, k: usize) -> String {
        let rows: Vec<_> = self.agents.iter().map(|a| (&a.1[k], Metrics::of(&a.1[k]))).collect();
        table(&rows, &self.ceilings[k])
    }
}

/// The learner's health check: train the recommended settings for `updates` updates from `seed`
/// on the `edge` market (seed 0, 4,320 hours) into `out`, then evaluate the policy on 1,440 hours
/// of the `edge` market of seed 1, which it never saw, at the default costs (`out/report.md`).
pub fn health_check(updates: usize, seed: u64, out: &Path) -> Result<Evaluation> {
    health_check_of(TrainConfig::recommended(updates, seed), TRAIN_HOURS, out)
}

/// The length of the health check's training market, hours.
pub const TRAIN_HOURS: usize = 24 * 180;

/// The health check of a run of `config`: trained on `hours` of the `edge` market of seed 0,
/// evaluated on 1,440 hours of seed 1.
pub fn health_check_of(config: TrainConfig, hours: usize, out: &Path) -> Result<Evaluation> {
    let job = TrainJob {
        source: Source::Synthetic { kind: MarketKind::Edge, seed: 0, hours },
        config,
        out: out.to_path_buf(),
        checkpoint_every: config.updates.max(1),
        resume: false,
        init_from: None,
        validation: None,
        progress: false,
    };
    let trained = train(&job)?;
    evaluate(&EvaluateJob {
        model: trained.exported.onnx,
        source: Source::Synthetic { kind: MarketKind::Edge, seed: 1, hours: 24 * 60 },
        capital: 10_000.0,
        seed: 0,
        costs: Costs::default(),
        report: out.join("report.md"),
    })
}

/// Run the policy of `job.model` and the three baselines over the window with each representative
/// configuration; write the report and the equity chart.
pub fn evaluate(job: &EvaluateJob) -> Result<Evaluation> {
    let market = job.source.load()?;
    let file = PolicyFile::from_path(&job.model)
        .with_context(|| format!("cannot load the model {}", job.model.display()))?;
    let (capital, costs) = (job.capital, job.costs);
    let mut k = 0;
    let agents = vec![
        books(&market, capital, costs, || Ok(Greedy { policy: file.session()?, name: "policy".into() }))?,
        books(&market, capital, costs, || Ok(Hold))?,
        books(&market, capital, costs, || {
            k += 1;
            Ok(RandomValid::new(job.seed ^ k))
        })?,
        books(&market, capital, costs, || Ok(Rule::default()))?,
    ];
    let ceilings = representative_configs()
        .iter()
        .map(|(_, config)| {
            ceiling(&market, &TradingConfig { fee_rate: costs.fee_rate, ..*config }, costs.slippage, capital)
        })
        .collect::<Result<Vec<_>>>()?;
    let evaluation = Evaluation { agents, ceilings };
    write_report(job, &market, &evaluation)?;
    Ok(evaluation)
}

/// One agent (made afresh for each configuration) over `market` with every representative
/// configuration: its name, its runs and their pooled book.
fn books<'m, A: Agent<&'m MemoryMarket>>(
    market: &'m MemoryMarket,
    capital: f64,
    costs: Costs,
    mut make: impl FnMut() -> Result<A>,
) -> Result<(String, Vec<Run>, Run)> {
    let runs = representative_configs()
        .into_iter()
        .map(|config| evaluation::run(market, &mut make()?, config, capital, costs))
        .collect::<Result<Vec<_>>>()?;
    let all = pooled(&runs);
    Ok((all.agent.clone(), runs, all))
}

fn write_report(job: &EvaluateJob, market: &MemoryMarket, e: &Evaluation) -> Result<()> {
    let chart = job.report.with_file_name("equity.png");
    let curves: Vec<(String, Vec<f64>)> = e
        .agents
        .iter()
        .map(|(name, _, all)| (name.clone(), all.equity.iter().map(|v| v / all.equity[0] - 1.0).collect()))
        .collect();
    let series: Vec<Line<'_>> = curves.iter().map(|(n, v)| Line { name: n, values: v }).collect();
    let title = "Equity of the pooled book (return since the start)";
    line_chart(&chart, "hour", 0.0, &[Panel { title, series: &series }])?;
    let mut md = String::from("# Evaluation\n\n");
    let _ = writeln!(md, "- Model: `{}`", job.model.display());
    let _ = writeln!(md, "- Market: {} ({} hours)", job.source.describe(), market.hours());
    let _ = writeln!(
        md,
        "- Each configuration ({}) runs its own book of {:.0} USD from the window's first hour to its last; \
         \"overall\" is the three books together. Every fill pays a fee of {} % a side and {} bp of \
         slippage per leg (in \"fees $\"). Positions still open at the end are closed there, paying their \
         exit costs. Sharpe and Sortino: hourly returns x sqrt(8760). The random baseline draws an allowed \
         action uniformly every hour (seed {}); the rule is field-notes section 2's. The ceiling is the most \
         the same book could have made knowing every future funding settlement, price moves left out \
         (`training/src/ceiling.rs`); \"of ceiling\" is an agent's net P&L over the ceiling's.",
        representative_configs().map(|c| c.0).join(", "),
        job.capital,
        100.0 * job.costs.fee_rate,
        1e4 * job.costs.slippage,
        job.seed
    );
    if !crate::report::has_font() {
        md.push_str("- No TrueType font was found: the chart is drawn without text.\n");
    }
    let _ = writeln!(md, "\n## Overall\n\n{}\n{}\n", e.overall_table(), e.significance(job.seed));
    let _ =
        writeln!(md, "![equity]({})\n", chart.file_name().and_then(|n| n.to_str()).unwrap_or("equity.png"));
    for (k, (name, _)) in representative_configs().iter().enumerate() {
        let _ = writeln!(md, "## {name}\n\n{}", e.config_table(k));
    }
    std::fs::write(&job.report, md).with_context(|| format!("cannot write {}", job.report.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::Market;

    #[test]
    fn a_built_in_window_opens_after_its_warm_up() {
        let source = Source::Synthetic { kind: MarketKind::Edge, seed: 3, hours: 200 };
        let market = source.load().unwrap();
        let whole = SyntheticMarket::generate(3, &MarketKind::Edge.params(200 + WARM_UP));
        assert_eq!(market.hours(), 200);
        assert_eq!(market.timestamp(0), whole.timestamp(WARM_UP));
        // Its first hour's opportunities carry three days of history: the 3-day averages are not
        // the hour's own difference, as they are at the generated market's first hour.
        let first = market.opportunities(0);
        assert!(!first.is_empty());
        assert!(first.iter().any(|o| (o.profit_8h_3d_avg - o.profit_8h()).abs() > 1e-9));
        assert!(whole.opportunities(0).iter().all(|o| (o.profit_8h_3d_avg - o.profit_8h()).abs() < 1e-12));
    }
}
