// berthd, the node agent, is not built yet: the runtime it stands on comes first.
// Until it lands this executable says so, instead of pretending to run.
#if canImport(Glibc)
import Glibc
#endif

let message = "berthd: the node agent is not implemented yet; use `berth` (the OCI runtime) for now\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)
