import Foundation
import Hummingbird

/// Limits, per client address, how many unknown API keys and session tokens may be presented. A valid
/// key's own rate limit cannot stop a flood of random keys (each is a new key); this can: once an address
/// has presented `unknownCredentialsPerMinute` credentials that matched nothing, its credentialed requests
/// are answered 429 from memory until the bucket refills. Known keys and tokens never take from it.
struct UnknownCredentialsMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let buckets: TokenBuckets<String>
    let clock: WallClock

    init(perMinute: Int, clock: WallClock) {
        buckets = TokenBuckets(capacity: perMinute, per: 60)
        self.clock = clock
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[.authorization] != nil || request.headers[.publicKey] != nil || request.uri.queryParameters["token"] != nil
        else { return try await next(request, context) }
        let address = context.clientIP ?? "unknown"
        if let wait = buckets.wait(address, at: clock.now()) { throw TeamGateError.tooManyFailedAttempts(retryAfterSeconds: wait.retryAfterSeconds) }
        do {
            return try await next(request, context)
        } catch let error as TeamGateError where error == .invalidAPIKey || error == .sessionUnknown {
            _ = buckets.take(address, at: clock.now())
            throw error
        }
    }
}
