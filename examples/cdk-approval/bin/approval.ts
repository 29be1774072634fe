#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ApprovalStack } from '../lib/approval-stack';

const app = new App();
new ApprovalStack(app, app.node.tryGetContext('stackName') ?? 'CdkApprovalExample', {
  approverEmail: app.node.tryGetContext('approverEmail'),
});
