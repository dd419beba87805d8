// Every setting of the stack, read from CDK context. The keys are the SAM template's parameter
// names in lowerCamelCase (AllowedCallbackOrigins -> allowedCallbackOrigins); the defaults are
// the functions' own (shared/src/config.rs). Required: mailFrom, allowedCallbackOrigins.
import { Node } from 'constructs';

export interface Settings {
  // Function settings (environment variables).
  readonly allowedCallbackOrigins: string;
  readonly defaultCallbackUrl: string;
  /** Exact callback URLs a public caller may send; empty: any on an allowed origin. */
  readonly allowedCallbackUrls: string;
  /** Where a callback link carries the code: query (default) or fragment. */
  readonly linkCodeIn: 'query' | 'fragment';
  readonly mailFrom: string;
  /** Display name for MAIL_FROM ("<name> <mailFrom>"); empty: the bare address. */
  readonly mailFromName: string;
  /** MAIL_REPLY_TO: an address or "Name <address>"; empty: replies go to the sender. */
  readonly mailReplyTo: string;
  /**
   * A folder of mail templates on the machine that synthesizes (relative to cdk/), bundled as
   * a layer at /opt/<folder name> and named by MAIL_TEMPLATE_DIR; empty: the built-in ones.
   */
  readonly mailTemplateDir: string;
  readonly sesConfigurationSet: string;
  readonly appName: string;
  readonly notifyPasswordChanged: boolean;
  readonly tokenTtlSeconds: number;
  readonly maxConcurrentRequests: number;
  readonly resetMethod: 'link' | 'code' | 'both';
  readonly otpLength: number;
  readonly otpMaxAttempts: number;
  readonly rateLimitRequest: string;
  readonly rateLimitCheck: string;
  readonly rateLimitConsume: string;
  /** IPv6 clients are counted per network of this prefix length (32..=128). */
  readonly rateLimitIpv6Prefix: number;
  readonly minRequestResponseMs: number;
  /** argon2id for new passwords, consume only (ARGON2_*; README, BENCHMARKS.md). */
  readonly argon2MemoryKib: number;
  readonly argon2Iterations: number;
  readonly argon2Parallelism: number;
  readonly serverKeySha256: string;
  /** New passwords: length bounds (PASSWORD_*), the breached-password check (PWNED_PASSWORDS_*). */
  readonly passwordMinLength: number;
  readonly passwordMaxLength: number;
  /** Base URL of the Pwned Passwords range API; "off" disables the check. */
  readonly pwnedPasswordsUrl: string;
  readonly pwnedPasswordsFailClosed: boolean;
  readonly pwnedPasswordsMinCount: number;
  /** CAPTCHA on public requests (request only): empty provider = none. */
  readonly captchaProvider: '' | 'turnstile' | 'hcaptcha' | 'recaptcha';
  /** ARN of the Secrets Manager secret holding the provider's secret key; required with a provider. */
  readonly captchaSecretArn: string;
  /** Empty: the stack creates a demo users table. */
  readonly usersTableName: string;
  readonly usersKeyAttribute: string;
  readonly usersEmailAttribute: string;
  /** "-" or "none": no index, the key attribute is the email. */
  readonly usersEmailIndex: string;
  readonly usersPasswordAttribute: string;
  readonly usersPasswordChangedAttribute: string;
  /** Empty: every account may be reset. */
  readonly usersEnabledAttribute: string;
  /** The account's organisation (Zitadel's {{.OrgID}}, resourceOwner); '' = not read. */
  readonly usersOrgAttribute: string;
  /** Number attribute consume adds 1 to with the password; empty: not written. */
  readonly usersSessionVersionAttribute: string;
  /** EventBridge bus name for the reset events; empty: no events. */
  readonly eventBusName: string;
  readonly eventSource: string;
  /** CloudWatch namespace of the EMF counts (alarms and dashboard read it). */
  readonly metricsNamespace: string;
  /** API_DIALECTS: comma list of native, stack, productflame, supabase, zitadel (README). */
  readonly apiDialects: string;
  /** STACK_PROJECT_ID: the X-Stack-Project-Id the Stack Auth routes accept; empty: stack off. */
  readonly stackProjectId: string;
  /** STACK_PUBLISHABLE_CLIENT_KEYS: comma list of accepted publishable keys; empty: stack off. */
  readonly stackPublishableClientKeys: string;
  /** ZITADEL_ORG_ID: Zitadel's resourceOwner and {{.OrgID}}; empty: none (templates using it refused). */
  readonly zitadelOrgId: string;
  // Stack settings.
  /** SES bounces and complaints to EventBridge (a configuration set, forwarded to eventBusName). */
  readonly sesFeedbackEvents: boolean;
  /** Verified recipient identities while SES is in the sandbox; empty once out of it. */
  readonly sesSandboxRecipients: string[];
  readonly apiThrottlingRateLimit: number;
  readonly apiThrottlingBurstLimit: number;
  readonly apiRequestRateLimit: number;
  readonly apiRequestBurstLimit: number;
  readonly apiCheckRateLimit: number;
  readonly apiCheckBurstLimit: number;
  readonly apiConsumeRateLimit: number;
  readonly apiConsumeBurstLimit: number;
  readonly enableCloudFront: boolean;
  /** Empty: the stack creates the web ACL (then it must be deployed in us-east-1). */
  readonly cloudFrontWebAclArn: string;
  readonly wafRateLimit: number;
  /** Empty: alarms without notifications. */
  readonly alarmTopicArn: string;
  readonly alarm4xxRatePercent: number;
  readonly alarm429Count: number;
  readonly alarm5xxCount: number;
  readonly tableDeletionProtection: boolean;
  readonly logRetentionDays: number;
  readonly logLevel: string;
}

export const DEFAULTS: Omit<Settings, 'allowedCallbackOrigins' | 'mailFrom'> = {
  defaultCallbackUrl: '',
  allowedCallbackUrls: '',
  linkCodeIn: 'query',
  mailFromName: '',
  mailReplyTo: '',
  mailTemplateDir: '',
  sesConfigurationSet: '',
  appName: 'Example App',
  notifyPasswordChanged: true,
  tokenTtlSeconds: 3600,
  maxConcurrentRequests: 3,
  resetMethod: 'both',
  otpLength: 8,
  otpMaxAttempts: 5,
  rateLimitRequest: '20/600',
  rateLimitCheck: '60/600',
  rateLimitConsume: '60/600',
  rateLimitIpv6Prefix: 64,
  minRequestResponseMs: 400,
  // RFC 9106's second recommended option (m=64 MiB, t=3, p=4), as template.yaml's defaults.
  argon2MemoryKib: 65_536,
  argon2Iterations: 3,
  argon2Parallelism: 4,
  serverKeySha256: '',
  passwordMinLength: 8,
  passwordMaxLength: 128,
  pwnedPasswordsUrl: 'https://api.pwnedpasswords.com',
  pwnedPasswordsFailClosed: false,
  pwnedPasswordsMinCount: 1,
  captchaProvider: '',
  captchaSecretArn: '',
  usersTableName: '',
  usersKeyAttribute: 'id',
  usersEmailAttribute: 'email',
  usersEmailIndex: 'email-index',
  usersPasswordAttribute: 'password_hash',
  usersPasswordChangedAttribute: 'password_changed_at',
  usersEnabledAttribute: '',
  usersOrgAttribute: '',
  usersSessionVersionAttribute: '',
  eventBusName: '',
  eventSource: 'password-reset',
  metricsNamespace: 'PasswordReset',
  apiDialects: 'native',
  stackProjectId: '',
  stackPublishableClientKeys: '',
  zitadelOrgId: '',
  sesFeedbackEvents: false,
  sesSandboxRecipients: [],
  apiThrottlingRateLimit: 20,
  apiThrottlingBurstLimit: 40,
  apiRequestRateLimit: 10,
  apiRequestBurstLimit: 20,
  apiCheckRateLimit: 20,
  apiCheckBurstLimit: 40,
  apiConsumeRateLimit: 10,
  apiConsumeBurstLimit: 20,
  enableCloudFront: false,
  cloudFrontWebAclArn: '',
  wafRateLimit: 100,
  alarmTopicArn: '',
  alarm4xxRatePercent: 50,
  alarm429Count: 100,
  alarm5xxCount: 0,
  tableDeletionProtection: true,
  logRetentionDays: 30,
  logLevel: 'INFO',
};

function fail(key: string, why: string): never {
  throw new Error(`context ${key}: ${why} (cdk synth -c ${key}=...; see docs/deploy.md)`);
}

/** Reads every key; context values arrive as strings from `-c` and as JSON from cdk.json. */
export function settingsFromContext(node: Node): Settings {
  const raw = (key: string): unknown => node.tryGetContext(key);
  const str = (key: keyof Settings, dflt: string): string => {
    const v = raw(key);
    return v === undefined || v === null ? dflt : String(v).trim();
  };
  const num = (key: keyof Settings, dflt: number, min: number, max: number): number => {
    const v = raw(key);
    if (v === undefined || v === null || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) fail(key, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  const bool = (key: keyof Settings, dflt: boolean): boolean => {
    const v = raw(key);
    if (v === undefined || v === null || v === '') return dflt;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    return fail(key, 'must be true or false');
  };
  const required = (key: keyof Settings, pattern: RegExp, example: string): string => {
    const v = str(key, '');
    if (!v) fail(key, `is required, e.g. ${example}`);
    if (!pattern.test(v)) fail(key, `${JSON.stringify(v)} does not look like ${example}`);
    return v;
  };
  const limit = (key: keyof Settings, dflt: string): string => {
    const v = str(key, dflt);
    if (!/^[0-9]+\/[0-9]+$/.test(v)) fail(key, 'must be MAX/SECONDS, e.g. 20/600');
    return v;
  };
  const pattern = (key: keyof Settings, dflt: string, re: RegExp, what: string): string => {
    const v = str(key, dflt);
    if (!re.test(v)) fail(key, `must be ${what}`);
    return v;
  };
  const serverKeySha256 = str('serverKeySha256', DEFAULTS.serverKeySha256);
  const cloudFrontWebAclArn = str('cloudFrontWebAclArn', DEFAULTS.cloudFrontWebAclArn);
  if (!/^(arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global\/webacl\/.+)?$/.test(cloudFrontWebAclArn)) {
    fail('cloudFrontWebAclArn', 'must be a CLOUDFRONT-scope web ACL ARN (arn:aws:wafv2:us-east-1:...:global/webacl/...)');
  }
  const alarmTopicArn = str('alarmTopicArn', DEFAULTS.alarmTopicArn);
  if (!/^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+)?$/.test(alarmTopicArn)) fail('alarmTopicArn', 'must be an SNS topic ARN');
  const rps = (key: keyof Settings, dflt: number) => num(key, dflt, 1, 1_000_000);
  if (!/^([0-9a-fA-F]{64})?$/.test(serverKeySha256)) fail('serverKeySha256', 'must be 64 hex characters');
  const passwordMinLength = num('passwordMinLength', DEFAULTS.passwordMinLength, 8, 64);
  const passwordMaxLength = num('passwordMaxLength', DEFAULTS.passwordMaxLength, 8, 256);
  if (passwordMaxLength < passwordMinLength) fail('passwordMaxLength', 'must be at least passwordMinLength');
  const pwnedPasswordsUrl = str('pwnedPasswordsUrl', DEFAULTS.pwnedPasswordsUrl);
  if (!/^(off|https:\/\/.+)$/.test(pwnedPasswordsUrl)) fail('pwnedPasswordsUrl', 'must be an https URL or off');
  const captchaProvider = str('captchaProvider', DEFAULTS.captchaProvider);
  if (!['', 'turnstile', 'hcaptcha', 'recaptcha'].includes(captchaProvider)) {
    fail('captchaProvider', 'must be turnstile, hcaptcha, recaptcha or empty');
  }
  const captchaSecretArn = str('captchaSecretArn', DEFAULTS.captchaSecretArn);
  if (!/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+)?$/.test(captchaSecretArn)) {
    fail('captchaSecretArn', 'must be a Secrets Manager secret ARN');
  }
  if (captchaProvider !== '' && captchaSecretArn === '') fail('captchaSecretArn', 'is required with captchaProvider');

  return {
    allowedCallbackOrigins: required(
      'allowedCallbackOrigins',
      /^(https?:\/\/[^,/\s]+)(,\s*https?:\/\/[^,/\s]+)*$/,
      'https://app.example.com',
    ),
    mailFrom: required('mailFrom', /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'no-reply@example.com'),
    mailFromName: ((v) => (/^[^"<>\\\x00-\x1f]{0,64}$/.test(v) ? v : fail('mailFromName', 'must be up to 64 characters without quotes, <, > or backslashes')))(
      str('mailFromName', DEFAULTS.mailFromName),
    ),
    mailReplyTo: str('mailReplyTo', DEFAULTS.mailReplyTo),
    mailTemplateDir: str('mailTemplateDir', DEFAULTS.mailTemplateDir),
    defaultCallbackUrl: str('defaultCallbackUrl', DEFAULTS.defaultCallbackUrl),
    allowedCallbackUrls: str('allowedCallbackUrls', DEFAULTS.allowedCallbackUrls),
    linkCodeIn: ((v) => (v === 'query' || v === 'fragment' ? v : fail('linkCodeIn', 'must be query or fragment')))(
      str('linkCodeIn', DEFAULTS.linkCodeIn),
    ),
    sesConfigurationSet: str('sesConfigurationSet', DEFAULTS.sesConfigurationSet),
    appName: str('appName', DEFAULTS.appName),
    notifyPasswordChanged: bool('notifyPasswordChanged', DEFAULTS.notifyPasswordChanged),
    tokenTtlSeconds: num('tokenTtlSeconds', DEFAULTS.tokenTtlSeconds, 60, 86_400),
    maxConcurrentRequests: num('maxConcurrentRequests', DEFAULTS.maxConcurrentRequests, 1, 10),
    resetMethod: ((v) =>
      v === 'link' || v === 'code' || v === 'both' ? v : fail('resetMethod', 'must be link, code or both'))(
      str('resetMethod', DEFAULTS.resetMethod),
    ),
    otpLength: num('otpLength', DEFAULTS.otpLength, 6, 10),
    otpMaxAttempts: num('otpMaxAttempts', DEFAULTS.otpMaxAttempts, 1, 10),
    rateLimitRequest: limit('rateLimitRequest', DEFAULTS.rateLimitRequest),
    rateLimitCheck: limit('rateLimitCheck', DEFAULTS.rateLimitCheck),
    rateLimitConsume: limit('rateLimitConsume', DEFAULTS.rateLimitConsume),
    rateLimitIpv6Prefix: num('rateLimitIpv6Prefix', DEFAULTS.rateLimitIpv6Prefix, 32, 128),
    minRequestResponseMs: num('minRequestResponseMs', DEFAULTS.minRequestResponseMs, 0, 10_000),
    // The service also refuses memory x iterations under 35,840 (OWASP's weakest option) at init.
    argon2MemoryKib: num('argon2MemoryKib', DEFAULTS.argon2MemoryKib, 7_168, 262_144),
    argon2Iterations: num('argon2Iterations', DEFAULTS.argon2Iterations, 1, 16),
    argon2Parallelism: num('argon2Parallelism', DEFAULTS.argon2Parallelism, 1, 16),
    serverKeySha256,
    passwordMinLength,
    passwordMaxLength,
    pwnedPasswordsUrl,
    pwnedPasswordsFailClosed: bool('pwnedPasswordsFailClosed', DEFAULTS.pwnedPasswordsFailClosed),
    pwnedPasswordsMinCount: num('pwnedPasswordsMinCount', DEFAULTS.pwnedPasswordsMinCount, 1, 1_000_000_000),
    captchaProvider: captchaProvider as Settings['captchaProvider'],
    captchaSecretArn,
    usersTableName: str('usersTableName', DEFAULTS.usersTableName),
    usersKeyAttribute: str('usersKeyAttribute', DEFAULTS.usersKeyAttribute),
    usersEmailAttribute: str('usersEmailAttribute', DEFAULTS.usersEmailAttribute),
    usersEmailIndex: str('usersEmailIndex', DEFAULTS.usersEmailIndex),
    usersPasswordAttribute: str('usersPasswordAttribute', DEFAULTS.usersPasswordAttribute),
    usersPasswordChangedAttribute: str('usersPasswordChangedAttribute', DEFAULTS.usersPasswordChangedAttribute),
    usersEnabledAttribute: str('usersEnabledAttribute', DEFAULTS.usersEnabledAttribute),
    usersOrgAttribute: str('usersOrgAttribute', DEFAULTS.usersOrgAttribute),
    usersSessionVersionAttribute: str('usersSessionVersionAttribute', DEFAULTS.usersSessionVersionAttribute),
    eventBusName: pattern('eventBusName', DEFAULTS.eventBusName, /^[A-Za-z0-9._/-]{0,256}$/, 'an EventBridge bus name'),
    eventSource: pattern('eventSource', DEFAULTS.eventSource, /^(?!aws\.)[A-Za-z0-9._/-]{1,256}$/, 'a source not starting with aws.'),
    metricsNamespace: pattern('metricsNamespace', DEFAULTS.metricsNamespace, /^(?!AWS\/)[A-Za-z0-9._/#:-]{1,255}$/, 'a CloudWatch namespace'),
    apiDialects: pattern(
      'apiDialects',
      DEFAULTS.apiDialects,
      /^ *(native|stack|productflame|supabase|zitadel)( *, *(native|stack|productflame|supabase|zitadel))* *$/,
      'a comma list of native, stack, productflame, supabase, zitadel',
    ),
    stackProjectId: str('stackProjectId', DEFAULTS.stackProjectId),
    stackPublishableClientKeys: str('stackPublishableClientKeys', DEFAULTS.stackPublishableClientKeys),
    zitadelOrgId: pattern('zitadelOrgId', DEFAULTS.zitadelOrgId, /^[A-Za-z0-9._-]{0,64}$/, 'at most 64 letters, digits, ".", "_" or "-"'),
    sesFeedbackEvents: bool('sesFeedbackEvents', DEFAULTS.sesFeedbackEvents),
    sesSandboxRecipients: str('sesSandboxRecipients', '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== ''),
    apiThrottlingRateLimit: rps('apiThrottlingRateLimit', DEFAULTS.apiThrottlingRateLimit),
    apiThrottlingBurstLimit: rps('apiThrottlingBurstLimit', DEFAULTS.apiThrottlingBurstLimit),
    apiRequestRateLimit: rps('apiRequestRateLimit', DEFAULTS.apiRequestRateLimit),
    apiRequestBurstLimit: rps('apiRequestBurstLimit', DEFAULTS.apiRequestBurstLimit),
    apiCheckRateLimit: rps('apiCheckRateLimit', DEFAULTS.apiCheckRateLimit),
    apiCheckBurstLimit: rps('apiCheckBurstLimit', DEFAULTS.apiCheckBurstLimit),
    apiConsumeRateLimit: rps('apiConsumeRateLimit', DEFAULTS.apiConsumeRateLimit),
    apiConsumeBurstLimit: rps('apiConsumeBurstLimit', DEFAULTS.apiConsumeBurstLimit),
    enableCloudFront: bool('enableCloudFront', DEFAULTS.enableCloudFront),
    cloudFrontWebAclArn,
    wafRateLimit: num('wafRateLimit', DEFAULTS.wafRateLimit, 10, 2_000_000_000),
    alarmTopicArn,
    alarm4xxRatePercent: num('alarm4xxRatePercent', DEFAULTS.alarm4xxRatePercent, 1, 100),
    alarm429Count: num('alarm429Count', DEFAULTS.alarm429Count, 1, 1_000_000_000),
    alarm5xxCount: num('alarm5xxCount', DEFAULTS.alarm5xxCount, 0, 1_000_000_000),
    tableDeletionProtection: bool('tableDeletionProtection', DEFAULTS.tableDeletionProtection),
    logRetentionDays: num('logRetentionDays', DEFAULTS.logRetentionDays, 1, 3653),
    logLevel: str('logLevel', DEFAULTS.logLevel).toUpperCase(),
  };
}
