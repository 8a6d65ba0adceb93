__all__ = ['replay_command', 'add_cli']

# %% ../nbs/06b_tracking.ipynb #01f23495
import argparse

def replay_command(args:argparse.Namespace, # parsed `picaboo tracking replay` arguments
                  ) -> int:
    "Send every tracking journal under `args.folder` to MLflow; print where each went."
    from picaboo.tracking import find_journals, replay_fallback
    journals = find_journals(args.folder)
    if not journals:
        raise FileNotFoundError(f"no tracking journal under {args.folder}: a run whose logs all reached MLflow "
                                "leaves none (they are in <run>/checkpoints/tracking-journal/ otherwise)")
    for journal in journals:
        run_id = replay_fallback(journal, args.tracking_uri)
        print(f"{journal}: sent to MLflow run {run_id}")
    return 0

def add_cli(subparsers):
    "Add `picaboo tracking replay RUN_FOLDER` to the `picaboo` command."
    p = subparsers.add_parser("tracking", help="run tracking: send what a tracking server missed",
                              description="Run tracking with MLflow.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser("replay", help="send a run's tracking journal to MLflow once the server is back",
                           description="Send every tracking journal under RUN_FOLDER to MLflow (safe to repeat).")
    r.add_argument("folder", metavar="RUN_FOLDER", help="a run folder, its checkpoints folder, or one journal")
    r.add_argument("--tracking-uri", default=None, help="where to send (default: where the run was meant to go)")
    r.set_defaults(func=replay_command)