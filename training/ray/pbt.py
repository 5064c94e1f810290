#!/usr/bin/env python3
"""Population-based training of arbpolicy members under Ray Tune, for more than one machine.

Each trial is one member: a Ray Tune function trainable that runs the `arbpolicy train` command
line for one interval at a time, warm-started (`--init-from`) from the checkpoint Ray hands it
with the trial's current hyper-parameters, on one thread, and reports the validation fitness the
command writes (`fitness.json`: the mean return, percent, of a greedy book per representative
configuration on the validation window) with the interval's checkpoint. Ray's
`PopulationBasedTraining` exploits and explores with the settings of `arbpolicy pbt`: the bottom
quarter copies the top quarter, each value resampled with probability 0.25 or multiplied by 1.2
or 0.8, clamped to the ranges of `training/src/population.rs`; discounts are tuned as their
horizons 1 / (1 - x) in hours, as `arbpolicy pbt` perturbs them.

One machine:  python3 training/ray/pbt.py --arbpolicy target/release/arbpolicy -- --market edge --validation-seed 2
A cluster:    ray start --head (on one), ray start --address=HEAD:6379 (on the others), then
              python3 training/ray/pbt.py --address auto --storage /shared/ray ... on the head;
              --storage must be a directory every machine sees (NFS) or an object-store URI.

Everything after `--` goes to every `arbpolicy train` call (the market, its window, the
validation window, costs, the fixed PPO settings).
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import ray
from ray import tune
from ray.tune.schedulers import PopulationBasedTraining

# The ranges of training/src/population.rs (`Bounds::default`), discounts as horizons in hours.
RANGES = {
    "lr": (1e-5, 3e-3),
    "gamma_hours": (1.0 / (1.0 - 0.95), 1.0 / (1.0 - 0.9995)),
    "lambda_hours": (1.0 / (1.0 - 0.90), 1.0 / (1.0 - 0.995)),
    "clip": (0.15, 0.3),
    "ent_coef": (0.001, 0.02),
    "vf_coef": (0.5, 1.0),
}
LOG_SCALED = {"lr", "gamma_hours", "lambda_hours", "ent_coef"}


def domain(name):
    low, high = RANGES[name]
    return tune.loguniform(low, high) if name in LOG_SCALED else tune.uniform(low, high)


def clamp(config):
    """Ray perturbs without bounds; clamp every tuned value to its range."""
    for name, (low, high) in RANGES.items():
        config[name] = min(max(config[name], low), high)
    return config


def command(settings, config, out, init, updates):
    """The `arbpolicy train` call of one interval."""
    gamma = 1.0 - 1.0 / config["gamma_hours"]
    lam = 1.0 - 1.0 / config["lambda_hours"]
    args = [
        settings["arbpolicy"], "train",
        "--updates", str(updates),
        "--n-steps", str(settings["n_steps"]),
        "--lr", repr(config["lr"]),
        "--gamma", repr(gamma),
        "--lambda", repr(lam),
        "--clip", repr(config["clip"]),
        "--ent-coef", repr(config["ent_coef"]),
        "--ent-coef-final", repr(config["ent_coef"]),
        "--vf-coef", repr(config["vf_coef"]),
        "--seed", str(config["seed"]),
        "--threads", "1",
        "--checkpoint-every", str(updates),
        "--out", str(out),
    ]
    if init is not None:
        args += ["--init-from", str(init / "checkpoint")]
    return args + settings["train_args"]


def member(config, settings):
    """One member: an interval per report, from the checkpoint Ray hands it."""
    interval_updates = max(1, math.ceil(settings["interval_steps"] / settings["n_steps"]))
    work = Path(tempfile.mkdtemp(prefix="arbpolicy-member-"))
    init, steps, call = None, 0, 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        init = Path(checkpoint.to_directory())
        steps = json.loads((init / "fitness.json").read_text())["steps"]
    while steps < settings["steps"]:
        call += 1
        out = work / f"interval-{call}"
        run = subprocess.run(command(settings, config, out, init, interval_updates), capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"arbpolicy train failed: {run.stderr.strip()}")
        scored = json.loads((out / "fitness.json").read_text())
        steps = scored["steps"]
        tune.report(
            {"fitness": scored["fitness"], "steps": steps, "updates": scored["updates"]},
            checkpoint=tune.Checkpoint.from_directory(str(out)),
        )
        init = out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arbpolicy", default="target/release/arbpolicy", help="the arbpolicy binary")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--interval-steps", type=int, default=50_000, help="environment steps between scorings")
    p.add_argument("--steps", type=int, default=2_000_000, help="environment steps of each member")
    p.add_argument("--burn-in-steps", type=int, default=None, help="default: one interval")
    p.add_argument("--n-steps", type=int, default=4096, help="environment steps per PPO update")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--address", default=None, help="a running cluster (`auto`); default: a local Ray")
    p.add_argument("--storage", default="runs/ray", help="Ray's storage_path (shared by every machine)")
    p.add_argument("--name", default="arbpolicy-pbt")
    p.add_argument("--out", default="runs/ray/best", help="where the best member's model is copied")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then arguments for every `arbpolicy train`")
    a = p.parse_args()
    train_args = a.train_args[1:] if a.train_args[:1] == ["--"] else a.train_args
    settings = {
        "arbpolicy": str(Path(a.arbpolicy).resolve()),
        "interval_steps": a.interval_steps,
        "steps": a.steps,
        "n_steps": a.n_steps,
        "train_args": train_args,
    }
    storage = a.storage if "://" in a.storage else str(Path(a.storage).resolve())
    ray.init(address=a.address, num_cpus=None if a.address else os.cpu_count(), include_dashboard=False)
    # Ray's exploit and explore draw from Python's `random`; the seeds of the members from `rng`.
    random.seed(a.seed)
    rng = random.Random(a.seed)
    scheduler = PopulationBasedTraining(
        time_attr="steps",
        perturbation_interval=a.interval_steps,
        burn_in_period=a.burn_in_steps if a.burn_in_steps is not None else a.interval_steps,
        hyperparam_mutations={name: domain(name) for name in RANGES},
        quantile_fraction=0.25,
        resample_probability=0.25,
        perturbation_factors=(1.2, 0.8),
        custom_explore_fn=clamp,
        synch=True,
    )
    space = {name: domain(name) for name in RANGES}
    space["seed"] = tune.sample_from(lambda _: rng.randrange(2**31))
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(member, settings=settings), {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(scheduler=scheduler, metric="fitness", mode="max", num_samples=a.population),
        run_config=tune.RunConfig(name=a.name, storage_path=storage, verbose=1),
    )
    results = tuner.fit()
    errors = [r.error for r in results if r.error is not None]
    if errors:
        sys.exit(f"{len(errors)} members failed: {errors[0]}")
    reports = [len(r.metrics_dataframe) for r in results]
    best = results.get_best_result(metric="fitness", mode="max", scope="last")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with best.checkpoint.as_directory() as d:
        for name in ("policy.onnx", "policy.arbpnet", "fitness.json"):
            shutil.copy(Path(d) / name, out / name)
    summary = {
        "members": len(reports),
        "reports": reports,
        "best_fitness": best.metrics["fitness"],
        "best_config": {k: best.config[k] for k in [*RANGES, "seed"]},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"ray pbt: {len(reports)} members, reports {reports}, best fitness {best.metrics['fitness']:+.4f} %")
    print(f"wrote {out / 'policy.onnx'} and {out / 'summary.json'}")


if __name__ == "__main__":
    main()
