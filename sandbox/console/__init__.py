"""The callback console's core, shared by the Workflows page and the CLI: state machines and executions read from
Step Functions (any machine in the account and region, the demo recognised among them), the tasks they wait on,
and answering them."""

# Execution statuses Step Functions reports, in the order the console lists them.
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
