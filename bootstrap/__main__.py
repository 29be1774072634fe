"""python -m bootstrap deploy|destroy|plan|template [--dry-run]"""

from __future__ import annotations

import argparse
import json
import sys

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

import bootstrap
from bootstrap.config import __doc__ as SETTINGS_DOC
from sandbox.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bootstrap",
        description="Deploy the Callback Sandbox approval pipeline (WaitForCallback) into the running LocalStack.",
        epilog="Settings (environment variables):\n" + (SETTINGS_DOC or "").split("\n", 1)[1]
               + "\nLOCALSTACK_PORT, AWS_DEFAULT_REGION and SANDBOX_HOME say where; outputs go to "
                 "$SANDBOX_HOME/outputs.json.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["deploy", "destroy", "plan", "template"],
                        help="deploy: create or update (idempotent); destroy: delete all; plan: show what deploy "
                             "would change; template: write the CloudFormation template for AWS and its code zips "
                             "to $SANDBOX_HOME/template.yaml")
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="print the outputs (deploy) as JSON")
    parser.add_argument("--timings", action="store_true",
                        help="deploy: print where the time went (per-service LocalStack time against ours)")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "template":
        from bootstrap import template

        path = template.write(settings.home)
        print(f"Wrote {path} (Lambda code beside it). Deploy it with `make deploy TARGET=aws`, or with "
              f"`aws cloudformation package` and `aws cloudformation deploy`.")
        return 0
    try:
        config = bootstrap.DeployConfig()
        if args.command == "plan" or (args.command == "deploy" and args.dry_run):
            items = bootstrap.plan(settings, config)
            print("\n".join(f"would {c}" for c in items) if items else "Up to date: deploy would change nothing.")
        elif args.command == "deploy":
            timings = None
            if args.timings:
                from bootstrap.timings import Timings

                timings = Timings()
                bootstrap.WATCHERS.append(timings.watch)
            outputs = bootstrap.deploy(settings, config, report=lambda c: print(c, flush=True))
            if timings:
                print(timings.report())
            if args.json:
                print(json.dumps(outputs, indent=2, sort_keys=True))
            else:
                print(f"Deployed {outputs['state_machine_name']}; approve/reject links at {outputs['api_url']}; "
                      f"emails to {outputs['approver']}. Outputs: {settings.outputs_path}")
        else:
            items = bootstrap.destroy(settings, config, dry_run=args.dry_run,
                                      report=None if args.dry_run else lambda c: print(c, flush=True))
            if args.dry_run:
                print("\n".join(f"would {c}" for c in items) if items else "Nothing to destroy.")
            elif not items:
                print("Nothing to destroy.")
    except bootstrap.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except EndpointConnectionError:
        print(f"error: LocalStack does not answer at {settings.localstack_url}; start it with `make up`.",
              file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
