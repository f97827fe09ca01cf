// Starts tracing before anything else loads: main.ts imports this module first (see docs/observability.md).
import { startTelemetry } from '@citadel/kit/telemetry';
import { env } from './env';

export const telemetry = startTelemetry({ service: 'identity', serviceName: env.OTEL_SERVICE_NAME, endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT });
