import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One POST to a server TeamGate does not control (a webhook receiver, an SMS gateway), under the limits
/// that keep a slow or hostile receiver from costing more than its own delivery: no redirects (a 3xx is
/// the answer), a connect timeout, one deadline for the whole exchange (not an idle timer a trickle can
/// keep alive), no decompression, and at most 64 KiB of the answer read, then dropped.
struct OutgoingPost: Sendable {
    static let responseBodyLimit = 64 * 1024

    let url: URL
    let headers: [(String, String)]
    let body: Data
    /// The address to connect to instead of resolving the host again: the one that was checked.
    var connectTo: IPAddress?
    var deadline: Duration = .seconds(10)
    var connectTimeout: Duration = .seconds(3)

    /// Sends the request and returns the answer's status.
    func send() async throws -> Int {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(connectTimeout.milliseconds), read: .milliseconds(deadline.milliseconds)),
            decompression: .disabled)
        if let connectTo, let host = url.host { configuration.dnsOverride = [host: connectTo.description] }
        // A client per call: the pinned address is part of the configuration.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let result: Result<Int, any Error>
        do {
            result = .success(try await exchange(client))
        } catch {
            result = .failure(error)
        }
        do {
            try await client.shutdown()
        } catch {
            // Shutting down only closes this client's connections; a failure there changes no answer.
        }
        return try result.get()
    }

    private func exchange(_ client: HTTPClient) async throws -> Int {
        let deadline = NIODeadline.now() + .milliseconds(deadline.milliseconds)
        // The deadline covers the body too: the whole exchange runs in a task cancelled when it passes.
        return try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = .POST
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, deadline: deadline)
                var read = 0
                for try await chunk in response.body {
                    read += chunk.readableBytes
                    if read >= Self.responseBodyLimit { break }
                }
                return Int(response.status.code)
            }
            group.addTask {
                try await Sleep.for(self.deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let status = try await group.next() ?? nil else { throw OutgoingPostError.deadlineExceeded }
            return status
        }
    }
}

enum OutgoingPostError: Error, Sendable {
    case deadlineExceeded
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
