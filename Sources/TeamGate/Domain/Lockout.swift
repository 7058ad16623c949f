/// Lockouts: a member kept from signing in until a time, set with a logout.
public enum Lockout {
    /// The longest lockout, in minutes (one week), in the API, the console and the OpenAPI document alike.
    /// Someone who must stay out longer is removed from the team instead.
    public static let maximumMinutes = 10_080
}
