/* Built stripped into libhelper.so, which only the plugin needs. */
int helper_scale(int i)
{
    return i * 3;
}
