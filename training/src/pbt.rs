//! The `pbt` command's job: a population ([`crate::population`]) trained on one window and scored
//! on a validation window that lies strictly after it and strictly before the window it will be
//! reported on; a checkpoint after every interval, the lineage, a report of every member, a chart
//! of their fitness, and the best member exported.

use crate::export::Exported;
use crate::history::day_of_hour;
use crate::job::{Source, export_run};
use crate::population::{Hyper, PbtConfig, Population};
use crate::report::{Line, Panel, line_chart};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `pbt` does.
#[derive(Debug, Clone, PartialEq)]
pub struct PbtJob {
    /// The training window.
    pub source: Source,
    /// The validation window the members are scored on.
    pub validation: Source,
    /// The window the result will be reported on, if known: the validation window must end before
    /// it.
    pub test: Option<Source>,
    /// The population.
    pub config: PbtConfig,
    /// The directory written: `checkpoint/`, `lineage.jsonl`, `fitness.csv`, `fitness.png`,
    /// `report.md`, `policy.onnx`, `policy.arbpnet`.
    pub out: PathBuf,
    /// Continue from `out/checkpoint`.
    pub resume: bool,
    /// Print a line after every interval.
    pub progress: bool,
}

/// What `pbt` wrote.
#[derive(Debug, Clone)]
pub struct PbtOutcome {
    /// The best member's model.
    pub exported: Exported,
    /// The best member.
    pub best: usize,
    /// Every member's fitness, interval after interval.
    pub fitness: Vec<Vec<f64>>,
    /// Every member's hyper-parameters at the end.
    pub hypers: Vec<Hyper>,
    /// Exploits in all.
    pub exploits: usize,
    /// Environment steps of the whole population in this invocation, per second.
    pub samples_per_second: f64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Refuse a validation window that is not strictly after the training window and strictly before
/// the test window (for the built-in market: another seed than either).
pub fn check_windows(train: &Source, validation: &Source, test: Option<&Source>) -> Result<()> {
    let day = |h: i64| day_of_hour(h);
    let ordered = |first: &Source, second: &Source, what: &str| -> Result<()> {
        match (first, second) {
            (Source::Recorded { dir: a, to: end, .. }, Source::Recorded { dir: b, from: start, .. }) => {
                anyhow::ensure!(a == b, "the {what} windows must come from the same data");
                anyhow::ensure!(
                    end <= start,
                    "the {what} windows overlap: the first ends on {}, the second starts on {}",
                    day(*end),
                    day(*start)
                );
                Ok(())
            }
            (Source::Synthetic { kind: a, seed: s, .. }, Source::Synthetic { kind: b, seed: t, .. }) => {
                anyhow::ensure!(a == b, "the {what} windows must come from the same built-in market");
                anyhow::ensure!(
                    s != t,
                    "the {what} windows are the same built-in market (seed {s}): give another seed"
                );
                Ok(())
            }
            _ => anyhow::bail!("the {what} windows must both be recorded data or both the built-in market"),
        }
    };
    ordered(train, validation, "training and validation")?;
    if let Some(test) = test {
        ordered(validation, test, "validation and test")?;
        ordered(train, test, "training and test")?;
    }
    Ok(())
}

/// Run the population (or resume it), checkpointing after every interval, then export its best
/// member on the last validation fitness and write the report.
pub fn pbt(job: &PbtJob) -> Result<PbtOutcome> {
    check_windows(&job.source, &job.validation, job.test.as_ref())?;
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&job.out).with_context(|| format!("cannot create {}", job.out.display()))?;
    let market = job.source.load()?;
    let validation = job.validation.load()?;
    let checkpoint = job.out.join("checkpoint");
    let mut population = if job.resume {
        Population::resume(&market, validation, job.config, &checkpoint)?
    } else {
        Population::new(&market, validation, job.config)?
    };
    let steps =
        |p: &Population<_>| -> usize { (0..job.config.population).map(|k| p.trainer(k).steps_done()).sum() };
    let steps_before = steps(&population);
    while !population.is_done() {
        let fitness = population.interval()?;
        population.save(&checkpoint)?;
        write_fitness(&job.out, &population.fitness())?;
        std::fs::copy(checkpoint.join("lineage.jsonl"), job.out.join("lineage.jsonl"))?;
        if job.progress {
            let best = fitness.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            eprintln!(
                "interval {}: {} steps a member, fitness best {best:+.3} %, mean {:+.3} %, {} exploits so far",
                population.intervals_done(),
                population.trainer(0).steps_done(),
                fitness.iter().sum::<f64>() / fitness.len() as f64,
                population.lineage().len()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let samples_per_second = (steps(&population) - steps_before) as f64 / seconds.max(1e-9);
    let best = population.best().context("no member was scored")?;
    let ancestry = population.ancestry(best);
    let trainer = population.trainer(best);
    let extra = vec![
        ("arbpolicy.pbt_member".to_string(), best.to_string()),
        ("arbpolicy.pbt_hyperparameters".to_string(), serde_json::to_string(&population.hypers()[best])?),
        ("arbpolicy.pbt_lineage".to_string(), serde_json::to_string(&ancestry)?),
        ("arbpolicy.validation_span".to_string(), job.validation.describe()),
    ];
    let exported = export_run(
        trainer.net(),
        &market,
        trainer.config(),
        &job.source,
        trainer.updates_done(),
        &extra,
        &job.out,
    )?;
    let fitness = population.fitness();
    fitness_chart(&job.out, &fitness)?;
    let outcome = PbtOutcome {
        exported,
        best,
        fitness,
        hypers: population.hypers(),
        exploits: population.lineage().len(),
        samples_per_second,
        seconds,
    };
    write_report(job, &population, &outcome)?;
    Ok(outcome)
}

/// `fitness.csv`: one row per interval, one column per member.
fn write_fitness(out: &std::path::Path, fitness: &[Vec<f64>]) -> Result<()> {
    let mut csv = String::from("interval");
    for k in 0..fitness.len() {
        let _ = write!(csv, ",member_{k}");
    }
    csv.push('\n');
    for i in 0..fitness.first().map_or(0, Vec::len) {
        let _ = write!(csv, "{}", i + 1);
        for f in fitness {
            let _ = write!(csv, ",{}", f[i]);
        }
        csv.push('\n');
    }
    let path = out.join("fitness.csv");
    std::fs::write(&path, csv).with_context(|| format!("cannot write {}", path.display()))
}

fn fitness_chart(out: &std::path::Path, fitness: &[Vec<f64>]) -> Result<()> {
    let names: Vec<String> = (0..fitness.len()).map(|k| format!("member {k}")).collect();
    let series: Vec<Line<'_>> = names.iter().zip(fitness).map(|(n, f)| Line { name: n, values: f }).collect();
    let title = "Validation fitness per member (mean return over the presets, percent)";
    line_chart(&out.join("fitness.png"), "interval", 1.0, &[Panel { title, series: &series }])
}

fn write_report<M>(job: &PbtJob, population: &Population<M>, outcome: &PbtOutcome) -> Result<()>
where
    M: arbpolicy_core::Market + Clone + Send,
{
    let c = &job.config;
    let mut md = String::from("# Population-based training\n\n");
    let _ = writeln!(md, "- Training: {}", job.source.describe());
    let _ = writeln!(md, "- Validation (fitness): {}", job.validation.describe());
    match &job.test {
        Some(Source::Recorded { from, .. }) => {
            let _ =
                writeln!(md, "- Reserved for the report, never scored here: from {} on", day_of_hour(*from));
        }
        Some(test) => {
            let _ = writeln!(md, "- Reserved for the report, never scored here: {}", test.describe());
        }
        None => {}
    }
    let _ = writeln!(
        md,
        "- {} members of {} steps each, scored every {} steps (burn-in {}); after each interval the \
         bottom {:.0} % copy the top {:.0} % and explore (resample probability {}); seed {}.",
        c.population,
        c.steps,
        c.interval_steps,
        c.burn_in_steps,
        100.0 * c.quantile,
        100.0 * c.quantile,
        c.resample_probability,
        c.seed
    );
    let phases: Vec<String> =
        population.phase_starts().iter().map(|i| format!("after interval {i}")).collect();
    let _ = writeln!(
        md,
        "- Curriculum {:?}: {} phase(s) of {}, begun {}.",
        c.curriculum,
        population.phase_starts().len(),
        c.curriculum.phases().len(),
        phases.join(", ")
    );
    let _ = writeln!(
        md,
        "- Fitness: the mean return, percent, of a greedy book of {:.0} USD per representative \
         configuration over the validation window.",
        c.capital
    );
    let _ = writeln!(
        md,
        "- {} exploits; {:.0} samples/s for the whole population; {:.0} s. Best member: {} (exported \
         as `policy.onnx`, its lineage in the metadata).\n",
        outcome.exploits, outcome.samples_per_second, outcome.seconds, outcome.best
    );
    md.push_str(
        "| member | last fitness % | best fitness % | copied | learning rate | gamma | lambda | clip | entropy | value |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for (k, (f, h)) in outcome.fitness.iter().zip(&outcome.hypers).enumerate() {
        let last = f.last().copied().unwrap_or(f64::NAN);
        let best = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let copied = population.lineage().iter().filter(|e| e.member == k).count();
        let _ = writeln!(
            md,
            "| {k} | {last:+.3} | {best:+.3} | {copied} | {:.2e} | {:.5} | {:.4} | {:.3} | {:.4} | {:.3} |",
            h.learning_rate, h.gamma, h.gae_lambda, h.clip, h.entropy_coef, h.value_coef
        );
    }
    md.push_str("\n![fitness](fitness.png)\n\nEvery exploit is in `lineage.jsonl`.\n");
    let path = job.out.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MarketKind;

    fn recorded(from: i64, to: i64) -> Source {
        Source::Recorded { dir: "data".into(), from, to }
    }

    fn synthetic(seed: u64) -> Source {
        Source::Synthetic { kind: MarketKind::Edge, seed, hours: 100 }
    }

    #[test]
    fn the_validation_window_lies_between_the_training_and_the_test_windows() {
        let day = 24;
        let (train, validation, test) =
            (recorded(0, 10 * day), recorded(10 * day, 20 * day), recorded(20 * day, 30 * day));
        check_windows(&train, &validation, Some(&test)).unwrap();
        check_windows(&train, &validation, None).unwrap();
        let overlap = check_windows(&train, &recorded(9 * day, 20 * day), None).unwrap_err().to_string();
        assert!(
            overlap.contains("training and validation windows overlap") && overlap.contains("1970-01-10"),
            "{overlap}"
        );
        let late =
            check_windows(&train, &validation, Some(&recorded(19 * day, 30 * day))).unwrap_err().to_string();
        assert!(late.contains("validation and test windows overlap"), "{late}");
        let before = check_windows(&validation, &train, None).unwrap_err().to_string();
        assert!(before.contains("overlap"), "{before}");
        let other = Source::Recorded { dir: "elsewhere".into(), from: 10 * day, to: 20 * day };
        assert!(check_windows(&train, &other, None).unwrap_err().to_string().contains("same data"));
        check_windows(&synthetic(0), &synthetic(2), Some(&synthetic(1))).unwrap();
        let same = check_windows(&synthetic(0), &synthetic(2), Some(&synthetic(2))).unwrap_err().to_string();
        assert!(same.contains("seed 2"), "{same}");
        assert!(check_windows(&synthetic(0), &validation, None).unwrap_err().to_string().contains("both"));
    }
}
