"""What each node kind's op returns and its completion record keeps (typed, one
class per kind): read by the engine, the estimates and the report, which import no
learning code, so they live here rather than beside the code that writes them."""
