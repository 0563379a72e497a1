void checkpoint(int step);
void rest(int id);
