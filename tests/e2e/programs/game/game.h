void checkpoint(int frame);
int leaf(int i);
void tiny(void);
void run_game(int n);
