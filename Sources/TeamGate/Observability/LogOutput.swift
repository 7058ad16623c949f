import Foundation
import Logging
import Synchronization

/// How the server writes its log: `text` for people (`time level label: key=value … [source] message`), `json`
/// for collectors (one object a line: `time`, `level`, `logger`, `source`, `message`, then the metadata's keys).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// A swift-log handler that writes one line per message, in `format`, through `output`.
public struct TeamGateLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: LogFormat
    let output: LogOutput

    public init(label: String, format: LogFormat, output: LogOutput = .standardError) {
        self.label = label
        self.format = format
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error { merged["error"] = "\(String(reflecting: error))" }
        let time = Date().iso8601Milliseconds
        let line: String
        switch format {
        case .text:
            // StreamLogHandler's layout, so tools reading the text log keep working; keys sorted, as it does. Control
            // characters are escaped: a value with a line break must not forge a line of its own.
            let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.oneLine($0.value.description))" }.joined(separator: " ")
            line = "\(time) \(event.level) \(label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(Self.oneLine(event.message.description))\n"
        case .json:
            var object = #"{"time":"\#(time)","level":"\#(event.level)","logger":\#(JSONText.string(label)),"#
                + #""source":\#(JSONText.string(event.source)),"message":\#(JSONText.string(event.message.description))"#
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
                object += ",\(JSONText.string(key)):\(JSONText.string(value.description))"
            }
            line = object + "}\n"
        }
        // Notices and worse reach the file at once (start-up, warnings, errors); the access log's `info` lines
        // are written in batches, so a busy server makes one write(2) per tenth of a second, not one per request.
        output.write(line, atOnce: event.level >= .notice)
    }

    /// The text with its control characters escaped (`\n`, `\r`, `\t`, `\u001b`), so it stays on one line.
    static func oneLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        return JSONText.escaped(text, quotesAndBackslashes: false)
    }
}

/// A file descriptor lines are appended to, batched: a line waits at most `interval` in memory, or goes at once
/// when asked. Lines keep their order. `flush()` writes what waits (`serve` calls it on the way out); a process
/// killed with SIGKILL loses at most the last `interval` of batched lines.
public final class LogOutput: Sendable {
    public static let standardError = LogOutput(descriptor: STDERR_FILENO)

    private let descriptor: Int32
    private let interval: Duration
    private let pending = Mutex<Pending>(Pending())
    /// Held while writing, so two flushes cannot put their batches out of order.
    private let writing = Mutex<Void>(())

    private struct Pending {
        var bytes: [UInt8] = []
        var flusherStarted = false
    }

    /// Batches over this size are written at once rather than after the interval.
    private static let batchLimit = 64 * 1024

    public init(descriptor: Int32, interval: Duration = .milliseconds(100)) {
        self.descriptor = descriptor
        self.interval = interval
    }

    func write(_ line: String, atOnce: Bool) {
        append(atOnce: atOnce) { bytes in bytes.append(contentsOf: line.utf8) }
    }

    /// Lets `build` write one line straight into the batch: the access log's lines are made there, with no string
    /// of their own.
    func append(atOnce: Bool = false, _ build: (inout [UInt8]) -> Void) {
        let (startFlusher, full) = pending.withLock { pending in
            build(&pending.bytes)
            let start = !pending.flusherStarted
            pending.flusherStarted = true
            return (start, pending.bytes.count >= Self.batchLimit)
        }
        if startFlusher { startFlushing() }
        if atOnce || full { flush() }
    }

    /// Writes every waiting line now.
    public func flush() {
        writing.withLock { _ in
            let bytes = pending.withLock { pending in
                defer { pending.bytes.removeAll(keepingCapacity: true) }
                return pending.bytes
            }
            var written = 0
            bytes.withUnsafeBytes { buffer in
                while written < buffer.count {
                    let result = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                    if result > 0 {
                        written += result
                    } else if result < 0 && errno == EINTR {
                        continue
                    } else {
                        // Nowhere left to say it: a closed or full log must not stop the server.
                        return
                    }
                }
            }
        }
    }

    /// One thread, for the life of the process, that writes the batch every `interval`.
    private func startFlushing() {
        let interval = interval
        let thread = Thread { [self] in
            let microseconds = UInt32(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)
            while true {
                usleep(microseconds)
                flush()
            }
        }
        thread.name = "teamgate-log"
        thread.start()
    }
}

extension Date {
    /// `2026-11-26T04:58:28.123Z`, in UTC, written by hand: every log line carries one. The part up to the second
    /// is kept from the last call (`LogTime`), so a busy log formats a date once a second, not once a line.
    var iso8601Milliseconds: String {
        let milliseconds = Int64((timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds.floorDivided(by: 1000)
        let fraction = milliseconds - seconds * 1000
        let digits = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return LogTime.prefix(seconds) + "." + digits + "Z"
    }
}

/// The last second a log line was written in, as `2026-11-26T04:58:28`.
enum LogTime {
    private static let last = Mutex<(seconds: Int64, prefix: String)>((Int64.min, ""))

    static func prefix(_ seconds: Int64) -> String {
        last.withLock { last in
            if last.seconds != seconds {
                last = (seconds, String(Date(timeIntervalSince1970: TimeInterval(seconds)).iso8601Seconds.dropLast()))
            }
            return last.prefix
        }
    }

    /// Appends the time of `nanosecondsSince1970` as `2026-11-26T04:58:28.123Z`.
    static func append(_ nanosecondsSince1970: Int64, to bytes: inout [UInt8]) {
        let milliseconds = nanosecondsSince1970 / 1_000_000
        let seconds = milliseconds.floorDivided(by: 1000)
        bytes.append(contentsOf: prefix(seconds).utf8)
        bytes.append(UInt8(ascii: "."))
        let fraction = milliseconds - seconds * 1000
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        bytes.append(UInt8(ascii: "Z"))
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }
}
