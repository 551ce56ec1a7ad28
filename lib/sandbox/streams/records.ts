import type { _Record, AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue, StreamRecord } from 'aws-lambda';

type SdkImage = Record<string, SdkAttributeValue>;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Converts an SDK attribute value (binary as bytes) to the JSON form Lambda delivers (binary as base64). */
export function toLambdaAttributeValue(value: SdkAttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // DynamoDB Local (2026-01-16) writes an empty map as `{}` in stream records (GetItem says `{"M":{}}`);
  // DynamoDB and Lambda deliver `{"M":{}}`.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new TypeError(`Unsupported attribute value: ${JSON.stringify(Object.keys(value))}`);
}

function toLambdaImage(image: SdkImage): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambdaAttributeValue(v)]));
}

/** Where the records come from, as the Lambda event names it. */
export interface RecordSource {
  /** The region Lambda would report (DynamoDB Local says `ddblocal`). */
  region: string;
  streamArn: string;
}

/**
 * Builds the record a Lambda event source mapping would deliver from a GetRecords record:
 * `ApproximateCreationDateTime` in epoch seconds, binary attributes in base64, `eventSourceARN` set.
 */
export function toLambdaRecord(record: _Record, source: RecordSource): DynamoDBRecord {
  const ddb = record.dynamodb ?? {};
  const stream: StreamRecord = {
    ApproximateCreationDateTime: ddb.ApproximateCreationDateTime
      ? ddb.ApproximateCreationDateTime.getTime() / 1000
      : undefined,
    Keys: ddb.Keys ? toLambdaImage(ddb.Keys) : undefined,
    NewImage: ddb.NewImage ? toLambdaImage(ddb.NewImage) : undefined,
    OldImage: ddb.OldImage ? toLambdaImage(ddb.OldImage) : undefined,
    SequenceNumber: ddb.SequenceNumber,
    SizeBytes: ddb.SizeBytes,
    StreamViewType: ddb.StreamViewType,
  };
  for (const key of Object.keys(stream) as Array<keyof StreamRecord>)
    if (stream[key] === undefined) delete stream[key];
  const out: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: source.region,
    dynamodb: stream,
    eventSourceARN: source.streamArn,
  };
  if (record.userIdentity) out.userIdentity = { ...record.userIdentity };
  return out;
}
