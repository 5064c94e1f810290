// The C ABI from C++: RAII handles, exceptions carrying the status and the message.
// Usage: example MODEL REQUEST.json
#include "arbpolicy.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace arbp {

struct error : std::runtime_error {
    arbp_status status;
    error(const std::string &what, arbp_status s) : std::runtime_error(what + ": " + message()), status(s) {}
    static std::string message() {
        std::string text(arbp_last_error(nullptr, 0), '\0');
        arbp_last_error(text.data(), text.size());
        text.pop_back();
        return text;
    }
};

inline void check(arbp_status s, const char *what) {
    if (s != ARBP_OK) throw error(what, s);
}

class session {
  public:
    explicit session(const std::string &model_path) {
        arbp_model *m = nullptr;
        check(arbp_model_load_file(model_path.c_str(), &m), "load");
        model_.reset(m);
        arbp_session *s = nullptr;
        check(arbp_session_new(model_.get(), &s), "session");
        session_.reset(s);
    }

    std::string decide_json(const std::string &request) {
        // A buffer of ARBP_DECISION_JSON_MAX bytes always holds the answer: one call.
        size_t needed = 0;
        std::string out(ARBP_DECISION_JSON_MAX, '\0');
        check(arbp_decide_json(session_.get(), request.data(), request.size(), out.data(), out.size(), &needed),
              "decide");
        out.resize(needed - 1);
        return out;
    }

  private:
    std::unique_ptr<arbp_model, decltype(&arbp_model_free)> model_{nullptr, arbp_model_free};
    std::unique_ptr<arbp_session, decltype(&arbp_session_free)> session_{nullptr, arbp_session_free};
};

}  // namespace arbp

int main(int argc, char **argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " MODEL REQUEST.json\n";
        return 2;
    }
    try {
        std::ifstream in(argv[2]);
        std::stringstream request;
        request << in.rdbuf();
        arbp::session s(argv[1]);
        std::cout << s.decide_json(request.str()) << "\n";
        try {
            s.decide_json("{ not json");
        } catch (const arbp::error &e) {
            std::cout << "a malformed request is refused (status " << e.status << "): " << e.what() << "\n";
            if (e.status != ARBP_MALFORMED_JSON) return 1;
        }
    } catch (const std::exception &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
