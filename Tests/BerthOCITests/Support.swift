import Foundation
import Testing
@testable import BerthOCI

/// What the user sees for a config.json: the one-line error, or nil if it decodes and validates.
func problem(_ json: String, forCreate: Bool = true) -> String? {
    do {
        let spec = try Spec.decode(Data(json.utf8))
        try spec.validate(forCreate: forCreate)
        return nil
    } catch {
        return error.description
    }
}

/// The one-line error for a spec built in Swift, or nil if valid.
func problem(_ spec: Spec) -> String? {
    do {
        try spec.validate()
        return nil
    } catch {
        return error.description
    }
}

/// A valid spec to break one field at a time.
func baseSpec() -> Spec {
    Spec.defaultSpec()
}

func mutated(_ change: (inout Spec) -> Void) -> Spec {
    var spec = baseSpec()
    change(&spec)
    return spec
}
