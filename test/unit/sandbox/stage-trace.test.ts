import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { REPLICATION_SOURCE } from '../../../lib/replication/index.ts';
import {
  PIPELINE_MARKS,
  PipelineTrace,
  type StageSample,
  stageBreakdown,
  stageDurations,
} from '../../../lib/sandbox/platform/stage-trace.ts';

const marksAt = (times: readonly number[]) =>
  Object.fromEntries(PIPELINE_MARKS.map((mark, i) => [mark, times[i]!]));

describe('stageDurations', () => {
  it('splits the lag into stages that add up to it, minus the injected link latency', () => {
    // HLC 1000; publisher 1260, origin bus 1270, forward 1272, WAN out 1275, peer bus 1315, applier
    // delivery 1318, applier started 1320, applied 1330; link injected 37.5.
    const sample: StageSample = {
      from: 'us-east-1',
      to: 'eu-west-1',
      hlcWall: 1000,
      marks: marksAt([1260, 1270, 1272, 1275, 1315, 1318, 1320, 1330]),
    };
    const d = stageDurations(sample, 37.5)!;
    expect(d.streamToPublisher).toBe(260);
    expect(d.publisherToBus).toBe(10);
    expect(d.busToApplier).toBe(50 - 37.5);
    expect(d.apply).toBe(10);
    expect(d.overhead).toBe(330 - 37.5);
    expect(d.streamToPublisher + d.publisherToBus + d.busToApplier + d.apply).toBe(d.overhead);
    expect(d.afterStream).toBe(d.overhead - d.streamToPublisher);
    expect(d.originDispatch + d.forwardAuthorize + d.linkExcess + d.peerDispatch + d.invoke).toBe(
      d.busToApplier,
    );
    expect(d.linkExcess).toBe(40 - 37.5);
  });

  it('gives nothing for a sample with a missing mark', () => {
    const marks = marksAt([1, 2, 3, 4, 5, 6, 7, 8]);
    delete marks.peerBus;
    expect(stageDurations({ from: 'a', to: 'b', hlcWall: 0, marks }, 0)).toBeUndefined();
  });
});

describe('stageBreakdown', () => {
  it('takes p50 and p99 per stage over complete samples, each link less its own latency', () => {
    const samples: StageSample[] = [];
    for (let i = 1; i <= 100; i++) {
      // Apply takes i ms; every other stage 1 ms; the link takes exactly its latency.
      const link = i % 2 === 0 ? 10 : 40;
      const t = [1, 2, 3, 4, 4 + link, 5 + link, 6 + link, 6 + link + i];
      samples.push({ from: i % 2 === 0 ? 'a' : 'b', to: 'c', hlcWall: 0, marks: marksAt(t) });
    }
    samples.push({ from: 'a', to: 'c', hlcWall: 0, marks: {} });
    const { complete, stages } = stageBreakdown(samples, (from) => (from === 'a' ? 10 : 40));
    expect(complete).toBe(100);
    expect(stages!.apply).toEqual({ p50: 50, p99: 99 });
    expect(stages!.busToApplier).toEqual({ p50: 4, p99: 4 });
    expect(stages!.streamToPublisher).toEqual({ p50: 1, p99: 1 });
  });

  it('is empty without samples', () => {
    expect(stageBreakdown([], () => 0)).toEqual({ complete: 0, stages: undefined });
  });
});

describe('PipelineTrace', () => {
  const detail = {
    eventId: 'e1',
    origin: 'us-east-1',
    hlc: encodeHlc({ wall: 500, logical: 0, region: 'us-east-1' }),
  };
  const event = { source: REPLICATION_SOURCE, detail };

  it('joins the origin marks with each peer delivery into one sample per applied delivery', () => {
    let now = 1000;
    const trace = new PipelineTrace(() => now);
    trace.atOrigin('publisher', ['e1']);
    now = 1010;
    trace.atOrigin('originBus', ['e1']);
    for (const to of ['eu-west-1', 'ap-southeast-1']) {
      for (const mark of ['forward', 'wanOut', 'peerBus', 'applierDelivery', 'applierStart'] as const) {
        now += 1;
        trace.atDelivery(mark, event, to);
      }
      now += 5;
      trace.applied(detail, to);
    }
    const samples = trace.samples();
    expect(samples.map((s) => s.to)).toEqual(['eu-west-1', 'ap-southeast-1']);
    expect(samples[0]).toMatchObject({ from: 'us-east-1', hlcWall: 500 });
    expect(samples[0]!.marks).toMatchObject({
      publisher: 1000,
      originBus: 1010,
      forward: 1011,
      applied: 1020,
    });
    expect(samples[1]!.marks).toMatchObject({ publisher: 1000, forward: 1021, applied: 1030 });
  });

  it('keeps the first time of a mark but the last attempt of a retried one', () => {
    let now = 1;
    const trace = new PipelineTrace(() => now);
    trace.atDelivery('forward', event, 'b');
    trace.atDelivery('applierStart', event, 'b');
    now = 9;
    trace.atDelivery('forward', event, 'b');
    trace.atDelivery('applierStart', event, 'b');
    trace.applied(detail, 'b');
    expect(trace.samples()[0]!.marks).toMatchObject({ forward: 1, applierStart: 9 });
  });

  it('ignores events that are not replication events, and forgets everything on reset', () => {
    const trace = new PipelineTrace(() => 1);
    trace.atDelivery('forward', { source: 'multiactive.conflict', detail }, 'b');
    trace.applied(detail, 'b');
    expect(trace.samples()[0]!.marks).toEqual({ applied: 1 });
    trace.duration('quorum ack', 3);
    trace.reset();
    expect(trace.samples()).toEqual([]);
    expect(trace.steps().size).toBe(0);
  });
});
