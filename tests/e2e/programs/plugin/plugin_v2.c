int helper_scale(int i);

static int calls;

int plugin_value(int i)
{
    calls++;
    return -(helper_scale(i) + calls * 100);
}
