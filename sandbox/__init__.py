"""Callback Sandbox: run the Step Functions wait-for-callback approval pattern offline."""
