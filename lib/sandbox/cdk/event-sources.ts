import { resourcesOfType, type StackEnvironment } from './intrinsics.ts';
import type { CfnTemplate } from './templates.ts';

/** A stream event source mapping as synthesized (the settings the sandbox's poller honours). */
export interface StreamMappingSpec {
  readonly functionName: string;
  /** Name of the table whose stream it reads. */
  readonly tableName: string;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly bisectOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

/** Every DynamoDB stream event source mapping of a template, with Lambda's defaults filled in. */
export function streamMappingsOf(template: CfnTemplate, env: StackEnvironment): StreamMappingSpec[] {
  return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping', env)
    .map(({ properties: p }) => ({ p, source: String(p.EventSourceArn ?? '') }))
    .filter(({ source }) => source.includes(':dynamodb:') && source.includes('/stream/'))
    .map(({ p, source }) => ({
      functionName: String(p.FunctionName),
      tableName: source.slice(source.indexOf(':table/') + ':table/'.length, source.indexOf('/stream/')),
      batchSize: typeof p.BatchSize === 'number' ? p.BatchSize : 100,
      maxRetries: typeof p.MaximumRetryAttempts === 'number' ? p.MaximumRetryAttempts : -1,
      bisectOnError: p.BisectBatchOnFunctionError === true,
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
    }));
}
