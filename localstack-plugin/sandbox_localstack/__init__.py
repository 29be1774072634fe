"""LocalStack plugins of Callback Sandbox: a local-process Lambda executor and an SMTP mail relay."""
