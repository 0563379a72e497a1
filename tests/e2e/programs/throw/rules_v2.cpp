#include <stdexcept>
#include <string>

int risky(int frame)
{
    if (frame % 2 == 1)
        throw std::runtime_error("v2 refuses frame " + std::to_string(frame));
    return frame * 100;
}

int guarded(int frame)
{
    return risky(frame) + 1;
}
