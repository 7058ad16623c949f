import Logging
import ServiceLifecycle
import Synchronization

/// Numbers whose sign-in code is still to be sent, in the order they were asked for. Bounded: past
/// `capacity` waiting numbers, new requests are refused rather than held in memory.
final class CodeQueue: Sendable {
    struct Entry: Sendable {
        let phone: PhoneNumber
        let block: AddressBlock
    }

    let capacity: Int
    /// Numbers one address block may have waiting at once: a hundredth of the queue, so that no block (an
    /// IPv6 /64 holds 2⁶⁴ addresses) can fill it and leave everyone else a 429.
    let perBlock: Int
    let stream: AsyncStream<Entry>
    private let continuation: AsyncStream<Entry>.Continuation
    private let waiting = Mutex<[AddressBlock: Int]>([:])

    init(capacity: Int = 10_000) {
        self.capacity = capacity
        self.perBlock = max(1, capacity / 100)
        (stream, continuation) = AsyncStream.makeStream(of: Entry.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// False when the queue, or the block's share of it, is full and the number was not taken.
    func enqueue(_ phone: PhoneNumber, from block: AddressBlock) -> Bool {
        let admitted = waiting.withLock { waiting in
            guard waiting[block, default: 0] < perBlock else { return false }
            waiting[block, default: 0] += 1
            return true
        }
        guard admitted else { return false }
        if case .dropped = continuation.yield(Entry(phone: phone, block: block)) {
            taken(from: block)
            return false
        }
        return true
    }

    /// An entry of `block` left the queue (the sender took it).
    func taken(from block: AddressBlock) {
        waiting.withLock { waiting in
            guard let count = waiting[block] else { return }
            waiting[block] = count > 1 ? count - 1 : nil
        }
    }

    func finish() { continuation.finish() }
}

/// Sends the codes `/auth/otp` promised, after the answer, a few at a time: the request's own time then
/// says nothing about whether the number is a member's, and a slow gateway delays codes, not answers.
public struct CodeSender: Service {
    let signIn: SignIn
    let logger: Logger
    let maxConcurrent: Int

    public init(signIn: SignIn, logger: Logger, maxConcurrent: Int = 8) {
        self.signIn = signIn
        self.logger = logger
        self.maxConcurrent = maxConcurrent
    }

    /// On SIGTERM no queued number is taken any more and the sends in flight have `ShutdownGrace` to end. The
    /// codes not sent are lost with the process (the queue is memory): their numbers had a 202 and ask again.
    public func run() async throws {
        let queue = signIn.outgoing
        await ShutdownGrace.run { [self] in
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    var unfinished = 0
                    for await entry in queue.stream {
                        queue.taken(from: entry.block)
                        if Task.isShuttingDownGracefully || Task.isCancelled { break }
                        if unfinished >= maxConcurrent {
                            await group.next()
                            unfinished -= 1
                        }
                        unfinished += 1
                        group.addTask { await send(entry.phone) }
                    }
                }
            } onGracefulShutdown: {
                queue.finish()
            }
        }
    }

    private func send(_ phone: PhoneNumber) async {
        do {
            try await signIn.sendCode(phone: phone)
        } catch is CancellationError {
            logger.info("A sign-in code was not sent: the server is stopping")
        } catch {
            // The number stays out of the log: it may be a stranger's, typed by anyone.
            logger.warning("A sign-in code could not be sent", metadata: ["error": "\(type(of: error))"])
        }
    }
}

// ServiceLifecycle logs each service by its description: the default one would spell out the
// configured sender, gateway secret included.
extension CodeSender: CustomStringConvertible {
    public var description: String { "CodeSender" }
}
