import { describe, expect, it } from 'vitest';
import { toLambdaRecord } from '../../../lib/sandbox/streams/records.ts';

describe('toLambdaRecord', () => {
  it('builds the record shape Lambda delivers from a GetRecords record', () => {
    const record = toLambdaRecord(
      {
        eventID: 'c81e728d9d4c2f636f067f89cc14862c',
        eventName: 'INSERT',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'ddblocal',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-01-02T03:04:05Z'),
          Keys: { pk: { S: 'a#1' }, sk: { N: '7' } },
          NewImage: {
            pk: { S: 'a#1' },
            sk: { N: '7' },
            blob: { B: new Uint8Array([1, 2, 3]) },
            tags: { SS: ['x'] },
            nested: { M: { list: { L: [{ BOOL: true }, { NULL: true }, { BS: [new Uint8Array([255])] }] } } },
          },
          SequenceNumber: '000000000000000000123',
          SizeBytes: 42,
          StreamViewType: 'NEW_IMAGE',
        },
      },
      {
        region: 'eu-west-1',
        streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/2026-01-02T00:00:00.000',
      },
    );
    expect(record).toEqual({
      eventID: 'c81e728d9d4c2f636f067f89cc14862c',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/2026-01-02T00:00:00.000',
      dynamodb: {
        ApproximateCreationDateTime: 1767323045,
        Keys: { pk: { S: 'a#1' }, sk: { N: '7' } },
        NewImage: {
          pk: { S: 'a#1' },
          sk: { N: '7' },
          blob: { B: 'AQID' },
          tags: { SS: ['x'] },
          nested: { M: { list: { L: [{ BOOL: true }, { NULL: true }, { BS: ['/w=='] }] } } },
        },
        SequenceNumber: '000000000000000000123',
        SizeBytes: 42,
        StreamViewType: 'NEW_IMAGE',
      },
    });
  });
});
