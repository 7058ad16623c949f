import Instrumentation
import OTel
import ServiceLifecycle
import Tracing

/// Where spans go: nowhere (the default: no tracer, no cost), or to an OpenTelemetry collector over OTLP/HTTP
/// through swift-otel, configured by OpenTelemetry's standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
/// `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` or `http/json`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
/// `OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`, …).
public enum TracesSetting: String, Sendable, CaseIterable {
    case off, otlp
}

public enum TeamGateTracing {
    /// Points swift-distributed-tracing at an OTLP exporter (once per process) and returns the service that sends the
    /// spans in batches: run it in the server's service group, which flushes it on the way out.
    public static func bootstrapOTLP() throws -> some Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "teamgate"
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        // The log and the metrics have their own outputs (the log handler, /metrics).
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        return service
    }
}
