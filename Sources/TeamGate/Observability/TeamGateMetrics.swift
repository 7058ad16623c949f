import CoreMetrics
import Foundation
import Prometheus

/// TeamGate's metrics, in one Prometheus registry per process that `GET /metrics` writes out.
///
/// The request metrics (`RequestMetrics`: by route pattern, method and status, with latency histograms) are
/// recorded through swift-metrics, which `bootstrapSwiftMetrics()` points at this registry; `serve` calls it.
/// TeamGate's own metrics are made here directly, with their help text. No label ever holds a phone number,
/// a key, a token or an id: only route patterns, methods, statuses, reasons and outcomes.
public enum TeamGateMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Makes swift-metrics record into `registry`. Once per process (swift-metrics allows one bootstrap), and
    /// only by the program that owns the process: a library that embeds TeamGate may have its own backend.
    public static func bootstrapSwiftMetrics() {
        _ = bootstrapped
    }

    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Most answers take well under 5 ms, where the default buckets start.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        // The labels are OpenTelemetry's names (`http.route`); Prometheus allows [a-zA-Z0-9_:].
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }()

    static func prometheusName(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" || scalar == ":"
                ? scalar : "_"
        }))
    }

    /// The exposition text, after `refresh` has set the gauges read at scrape time.
    static func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: Counters and histograms, recorded where things happen

    private static func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Prometheus.Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "teamgate", metricName: name, unitName: "total", helpText: help), labels: labels)
    }

    /// Sessions this instance ended, by why (`admin_logout`, `signed_out`, `member_removed`, …).
    static func sessionsEnded(_ ended: [EndedSession]) {
        var byReason: [SessionEndReason: Int64] = [:]
        for session in ended { byReason[session.reason, default: 0] += 1 }
        for (reason, count) in byReason {
            counter("sessions_ended", "Sessions ended by this instance, by reason", [("reason", reason.rawValue)]).increment(by: count)
        }
    }

    /// Logouts asked for (API, console, CLI), by outcome: `ended` (sessions ended), `none` (the member had none),
    /// `refused` (not a member, a protected member, a revoked key).
    static func logout(outcome: String) {
        counter("logouts", "Member logouts asked for, by outcome", [("outcome", outcome)]).increment()
    }

    /// Sign-in codes, by outcome. Asked for: `requested`, `refused` (a limit). Tried: `signed_in`, `wrong`,
    /// `throttled` (too many wrong ones). Never what was sent: that depends on whether the number is a member's
    /// and whether they are locked, and `/metrics` may be open to anyone.
    static func signInCode(outcome: String) {
        counter("sign_in_codes", "Sign-in codes asked for and tried, by outcome", [("outcome", outcome)]).increment()
    }

    /// A number's wrong codes from every address together reached a pause (`NumberThrottle`). No label: never the number.
    static func signInNumberPaused() {
        counter("sign_in_number_pauses", "Numbers paused after a run of wrong codes from every address together", []).increment()
    }

    /// Webhook deliveries, by outcome: `delivered`, `failed` (will retry), `gave_up`.
    static func webhookDelivery(outcome: String) {
        counter("webhook_deliveries", "Webhook delivery attempts, by outcome", [("outcome", outcome)]).increment()
    }

    static func logoutDelivery(outcome: String) {
        counter("backchannel_logouts", "Back-channel logout attempts to apps, by outcome", [("outcome", outcome)]).increment()
    }

    private static let groupCommitSize = registry.makeValueHistogram(
        descriptor: MetricNameDescriptor(
            namespace: "teamgate", metricName: "group_commit", unitName: "writes",
            helpText: "Writes committed together in one transaction (one fsync)"),
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])

    private static let groupCommitDuration = registry.makeDurationHistogram(
        descriptor: MetricNameDescriptor(
            namespace: "teamgate", metricName: "group_commit_duration", unitName: "seconds",
            helpText: "Time from a group commit's BEGIN to its COMMIT returning, fsync included"),
        buckets: [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ])

    private static let notificationLag = registry.makeDurationHistogram(
        descriptor: MetricNameDescriptor(
            namespace: "teamgate", metricName: "postgres_notification_lag", unitName: "seconds",
            helpText: "From another instance's commit (its clock) to this instance's index holding the change"),
        buckets: [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ])

    /// A group commit of `writes` writes that took `duration` from BEGIN to COMMIT.
    static func groupCommit(writes: Int, took duration: Duration) {
        groupCommitSize.record(Double(writes))
        groupCommitDuration.record(duration)
    }

    /// Another instance's change, sent at `sentAt` by its clock, is now in this instance's index.
    static func notificationApplied(sentAt: Date) {
        notificationLag.record(Duration.seconds(max(0, Date().timeIntervalSince(sentAt))))
    }

    // MARK: Gauges, set when scraped

    private static func gauge(_ name: String, _ unit: String, _ help: String) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "teamgate", metricName: name, unitName: unit, helpText: help))
    }

    static let sessionsInMemory = gauge("sessions_in_memory", "", "Live sessions in this instance's index (expired ones until housekeeping drops them)")
    static let indexWarm = gauge("index_warm", "", "1 once every live session is in memory (what /ready reports), 0 while loading")
    static let openSockets = gauge("open_sockets", "", "Devices holding GET /me/events open on this instance")
    static let webhookQueueDepth = gauge("webhook_queue_depth", "", "Webhook deliveries waiting (first attempt or retry), all instances")
    static let databaseReachable = gauge("database_reachable", "", "1 when the last scrape's query reached the database")
}
