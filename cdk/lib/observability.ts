// Events, alarms, the dashboard and SES feedback, as in ../template.yaml: the functions count
// in Embedded Metric Format lines (METRICS_NAMESPACE, dimensions operation and dialect), put
// events on eventBusName (request and consume only), and these alarms and the dashboard read
// the counts and AWS's own metrics.
import * as cdk from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { Settings } from './settings';

/** The counts the functions write (shared/src/metrics.rs, Metric::name), dashboard order. */
export const COUNTS: [string, string][] = [
  ['CodesIssued', 'Codes issued (known accounts)'],
  ['UnknownAddress', 'Requests for unknown addresses'],
  ['CapLimited', 'Per-address cap 429s'],
  ['IpLimited', 'Per-IP limit 429s'],
  ['MailFailed', 'Mails not sent'],
  ['PasswordsReset', 'Passwords reset'],
  ['InvalidCode', 'Invalid codes (check, consume)'],
  ['StoreUnavailable', 'Store unavailable (503)'],
  ['EventPutFailed', 'Events not put'],
  ['ShortCodeTriesExhausted', 'Short-code tries exhausted'],
];

export interface ObservabilityProps {
  readonly settings: Settings;
  readonly request: lambda.IFunction;
  readonly check: lambda.IFunction;
  readonly consume: lambda.IFunction;
  readonly resetTableName: string;
  readonly usersTableName: string;
}

const FIVE_MINUTES = cdk.Duration.minutes(5);

/** events:PutEvents on the named bus with our source only: for the functions that publish. */
export function putEventsStatement(scope: cdk.Stack, s: Settings): iam.PolicyStatement | undefined {
  if (!s.eventBusName) return undefined;
  return new iam.PolicyStatement({
    sid: 'PutResetEvents',
    actions: ['events:PutEvents'],
    resources: [scope.formatArn({ service: 'events', resource: 'event-bus', resourceName: s.eventBusName })],
    conditions: { StringEquals: { 'events:source': s.eventSource } },
  });
}

/** The alarms to notify about, and the dashboard. */
export function addAlarmsAndDashboard(scope: Construct, p: ObservabilityProps): cloudwatch.Alarm[] {
  const s = p.settings;
  const sum = (namespace: string, metricName: string, dimensionsMap: Record<string, string>) =>
    new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic: 'Sum', period: FIVE_MINUTES });
  const anyOf = (id: string, description: string, label: string, metrics: Record<string, cloudwatch.IMetric>) =>
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: description,
      metric: new cloudwatch.MathExpression({
        expression: `SUM([${Object.keys(metrics).join(', ')}])`,
        usingMetrics: metrics,
        label,
        period: FIVE_MINUTES,
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  const mailFailed = (operation: string, dialect = 'native') => sum(s.metricsNamespace, 'MailFailed', { operation, dialect });
  const fns = { request: p.request, check: p.check, consume: p.consume };
  const perFunction = (metricName: string) =>
    Object.fromEntries(
      Object.entries(fns).map(([name, fn]) => [name, sum('AWS/Lambda', metricName, { FunctionName: fn.functionName })]),
    );
  const throttles = (table: string, prefix: string) => ({
    [`${prefix}Reads`]: sum('AWS/DynamoDB', 'ReadThrottleEvents', { TableName: table }),
    [`${prefix}Writes`]: sum('AWS/DynamoDB', 'WriteThrottleEvents', { TableName: table }),
  });
  const alarms = [
    anyOf(
      'MailFailedAlarm',
      'At least one reset or password-changed mail was not sent in 5 minutes: users may get no links while the API answers 200.',
      'mails not sent',
      {
        request: mailFailed('request'),
        consume: mailFailed('consume'),
        // The Stack Auth dialect's mails (API_DIALECTS=stack) are counted under dialect stack.
        stackRequest: mailFailed('request', 'stack'),
        stackConsume: mailFailed('consume', 'stack'),
        // The ProductFlame dialect's mails (API_DIALECTS=productflame), under dialect productflame.
        productflameRequest: mailFailed('request', 'productflame'),
        // The Supabase-style and Zitadel dialects' mails, under their own dialect.
        supabaseRequest: mailFailed('request', 'supabase'),
        zitadelRequest: mailFailed('request', 'zitadel'),
        zitadelConsume: mailFailed('consume', 'zitadel'),
      },
    ),
    anyOf('DynamoDbThrottleAlarm', 'DynamoDB throttled the reset or users table in 5 minutes.', 'throttle events', {
      ...throttles(p.resetTableName, 'reset'),
      ...throttles(p.usersTableName, 'users'),
    }),
    anyOf('LambdaErrorsAlarm', 'A password-reset function failed an invocation in 5 minutes.', 'function errors', perFunction('Errors')),
    anyOf('LambdaThrottlesAlarm', 'Lambda throttled a password-reset function in 5 minutes.', 'function throttles', perFunction('Throttles')),
  ];

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard');
  const widgets = COUNTS.map(
    ([name, title]) =>
      new cloudwatch.GraphWidget({
        title,
        width: 8,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${s.metricsNamespace},operation,dialect} MetricName="${name}"', 'Sum', 300)`,
            period: FIVE_MINUTES,
          }),
        ],
      }),
  );
  widgets.push(
    new cloudwatch.GraphWidget({
      title: 'Lambda errors and throttles',
      width: 12,
      left: [...Object.values(perFunction('Errors')), ...Object.values(perFunction('Throttles'))],
    }),
  );
  dashboard.addWidgets(...widgets);
  return alarms;
}

/** SES bounces and complaints to EventBridge: SES publishes to the default bus only, so a rule
 * there forwards them to eventBusName when that is another bus. Returns the configuration set
 * the functions should send with (the given one, or one made here). */
export function addSesFeedback(scope: cdk.Stack, s: Settings): string {
  if (!s.sesFeedbackEvents) return s.sesConfigurationSet;
  const setName = s.sesConfigurationSet || new ses.CfnConfigurationSet(scope, 'SesFeedbackConfigurationSet').ref;
  new ses.CfnConfigurationSetEventDestination(scope, 'SesFeedbackDestination', {
    configurationSetName: setName,
    eventDestination: {
      name: 'password-reset-feedback',
      enabled: true,
      matchingEventTypes: ['bounce', 'complaint'],
      eventBridgeDestination: {
        eventBusArn: scope.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
      },
    },
  });
  if (s.eventBusName && s.eventBusName !== 'default') {
    const bus = events.EventBus.fromEventBusName(scope, 'ResetEventsBus', s.eventBusName);
    const rule = new events.Rule(scope, 'SesFeedbackForwardRule', {
      description: 'Bounces and complaints of the password-reset mails, forwarded to the reset events bus.',
      eventBus: events.EventBus.fromEventBusName(scope, 'DefaultBus', 'default'),
      eventPattern: {
        source: ['aws.ses'],
        detailType: ['Email Bounced', 'Email Complained'],
        detail: { mail: { tags: { 'ses:configuration-set': [setName] } } },
      },
    });
    rule.addTarget(new targets.EventBus(bus, { role: forwardRole(scope, bus.eventBusArn) }));
  }
  return setName;
}

function forwardRole(scope: Construct, busArn: string): iam.Role {
  const role = new iam.Role(scope, 'SesFeedbackForwardRole', {
    description: "forwards SES feedback to the reset events' bus",
    assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
  });
  role.addToPolicy(new iam.PolicyStatement({ sid: 'ForwardToResetBus', actions: ['events:PutEvents'], resources: [busArn] }));
  return role;
}
