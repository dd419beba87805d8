#!/usr/bin/env node
// The CDK app: one PasswordResetStack. Settings come from context (`-c key=value` or cdk.json);
// see lib/settings.ts for the keys and docs/deploy.md for what each does.
import * as cdk from 'aws-cdk-lib';
import { PasswordResetStack } from '../lib/password-reset-stack';
import { settingsFromContext } from '../lib/settings';

const app = new cdk.App();
new PasswordResetStack(app, app.node.tryGetContext('stackName') ?? 'PasswordReset', {
  settings: settingsFromContext(app.node),
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  },
});
