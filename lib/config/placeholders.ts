import type { ConfigIssue } from './errors.ts';
import { DEFAULT_HOSTED_ZONE_ID, type Topology } from './schema.ts';

/** Account ids that appear in documentation and samples, never in a real deployment. */
const SAMPLE_ACCOUNT = /^(\d)\1{11}$|^123456789012$/;

/** Names nobody can own (RFC 2606 and RFC 6761): example.com/.net/.org and the reserved top-level names. */
const RESERVED_DOMAIN = /(^|\.)(example\.(com|net|org)|[^.]+\.(example|test|invalid|localhost|local))\.?$/i;

/**
 * The values of a topology that are still samples: an account like 111111111111, a hosted zone that is the
 * schema's default or sits under a reserved name, an API or alarm e-mail domain nobody can own. A synth
 * only warns about them (the sandbox and the tests synthesize the shipped samples); a deploy refuses.
 * @example placeholdersOf(app.topology('dev')) // [{ path: 'account', message: 'account 111111111111 is a sample ...' }, ...]
 */
export function placeholdersOf(topology: Topology): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { gtm } = topology;
  if (SAMPLE_ACCOUNT.test(topology.account))
    issues.push({
      path: 'account',
      message: `account ${topology.account} is a sample id: set the 12-digit id of the account you deploy into`,
    });
  if (gtm.hostedZoneId === DEFAULT_HOSTED_ZONE_ID || RESERVED_DOMAIN.test(gtm.hostedZoneName))
    issues.push({
      path: 'gtm.hostedZoneId',
      message: `hosted zone ${gtm.hostedZoneId} (${gtm.hostedZoneName}) is a sample: set the id and name of a public Route 53 zone you own`,
    });
  if (RESERVED_DOMAIN.test(gtm.domainName))
    issues.push({
      path: 'gtm.domainName',
      message: `${gtm.domainName} is under a reserved name nobody can own: set the API name inside your hosted zone`,
    });
  const email = topology.monitoring.alarmEmail;
  if (email !== null && RESERVED_DOMAIN.test(email.slice(email.indexOf('@') + 1)))
    issues.push({
      path: 'monitoring.alarmEmail',
      message: `${email} cannot receive mail: set the address alarm notifications should reach`,
    });
  return issues;
}
