import type { Span, Tracer } from '@opentelemetry/api';
import type { MigratorEvents } from '../migrator/index.js';

/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces variant) is
 * set: a span per CLI run or reconcile, with a child span for the lock wait and one per
 * step (revision, direction, outcome, duration; never SQL parameters or credentials). The
 * SDK is imported here, on demand, so nothing loads it when tracing is off. Parents are
 * passed explicitly rather than through a global context manager: the spans' shape is
 * fixed, and async hooks on every promise would cost the no-op more than they give.
 */
export interface Tracing {
  /** A root span; `parent` is a W3C traceparent to continue (a Job's, from its creator). */
  start(name: string, attributes: Record<string, string>, traceparent?: string): RunSpan;
  /** Sends what is buffered; the process may exit after it. */
  shutdown(): Promise<void>;
}

export interface RunSpan {
  /** Migrator events that add the lock-wait and step spans under this one. */
  readonly events: MigratorEvents;
  /** This span as a W3C traceparent, for what it starts (a Job). */
  readonly traceparent: string;
  end(outcome: { ok: boolean; code?: string }): void;
}

export const tracingEnabled = (env: NodeJS.ProcessEnv): boolean =>
  Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) &&
  env['OTEL_SDK_DISABLED'] !== 'true';

/** null when tracing is off: callers then do nothing, and load nothing. */
export async function startTracing(env: NodeJS.ProcessEnv, serviceName: string): Promise<Tracing | null> {
  if (!tracingEnabled(env)) return null;
  const api = await import('@opentelemetry/api');
  const { BatchSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env['OTEL_SERVICE_NAME'] ?? serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  const tracer: Tracer = provider.getTracer('revisor');
  const contextOf = (span: Span) => api.trace.setSpan(api.context.active(), span);

  return {
    start(name, attributes, traceparent) {
      const parent = traceparent ? parseTraceparent(api, traceparent) : api.context.active();
      const root = tracer.startSpan(name, { attributes }, parent);
      const steps = new Map<string, Span>();
      let lockWait: Span | null = null;
      const events: MigratorEvents = {
        lockWaiting: (holder) => {
          lockWait ??= tracer.startSpan(
            'lock wait',
            { attributes: { 'revisor.lock.holder_pid': String(holder?.pid ?? '') } },
            contextOf(root),
          );
        },
        lockAcquired: (waitedMs) => {
          const span =
            lockWait ?? tracer.startSpan('lock wait', { startTime: Date.now() - waitedMs }, contextOf(root));
          span.setAttribute('revisor.lock.waited_ms', waitedMs);
          span.end();
          lockWait = null;
        },
        stepStarted: (step) => {
          const span = tracer.startSpan(
            `${step.direction} ${step.revision}`,
            { attributes: { 'revisor.revision': step.revision, 'revisor.direction': step.direction } },
            contextOf(root),
          );
          steps.set(`${step.direction} ${step.revision}`, span);
        },
        stepFinished: (step, result) => {
          const key = `${step.direction} ${step.revision}`;
          const span = steps.get(key);
          if (!span) return;
          steps.delete(key);
          span.setAttribute('revisor.outcome', result.status);
          span.setAttribute('revisor.duration_ms', Math.round(result.durationMs));
          if (result.status !== 'applied') span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end();
        },
      };
      const context = root.spanContext();
      return {
        events,
        traceparent: `00-${context.traceId}-${context.spanId}-0${context.traceFlags.toString(16)}`,
        end(outcome) {
          // Steps a failure left open (the one that failed in a script) end with the run.
          for (const span of steps.values()) span.end();
          lockWait?.end();
          if (outcome.code) root.setAttribute('revisor.error', outcome.code);
          root.setStatus({ code: outcome.ok ? api.SpanStatusCode.OK : api.SpanStatusCode.ERROR });
          root.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}

function parseTraceparent(api: typeof import('@opentelemetry/api'), traceparent: string) {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent.trim());
  if (!match) return api.context.active();
  return api.trace.setSpanContext(api.context.active(), {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  });
}

/** Both handlers for each event: the logger's and the tracer's. */
export function mergeEvents(a: MigratorEvents, b: MigratorEvents | undefined): MigratorEvents {
  if (!b) return a;
  const merged: Record<string, unknown> = { ...a };
  for (const [key, handler] of Object.entries(b) as [keyof MigratorEvents, (...args: unknown[]) => void][]) {
    const first = a[key] as ((...args: unknown[]) => void) | undefined;
    merged[key] = first
      ? (...args: unknown[]) => {
          first(...args);
          handler(...args);
        }
      : handler;
  }
  return merged as MigratorEvents;
}
