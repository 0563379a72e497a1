#include <stdexcept>
#include <string>

int risky(int frame)
{
    if (frame % 3 == 2)
        throw std::runtime_error("v1 refuses frame " + std::to_string(frame));
    return frame * 10;
}

int guarded(int frame)
{
    return risky(frame) + 1;
}
